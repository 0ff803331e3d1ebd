//! The change feed's event types as they appear on the wire: what the events API, webhooks and
//! the config's webhook filters (`orgs.NAME.webhooks[].events`) all name.

use crate::schema::ResourceType;

/// Every event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    UserCreated,
    UserUpdated,
    UserDeactivated,
    UserReactivated,
    UserDeleted,
    TeamCreated,
    TeamUpdated,
    TeamDeleted,
    TeamMemberAdded,
    TeamMemberRemoved,
}

/// Every event type's name, in the order the docs list them.
pub const EVENT_TYPES: [&str; 10] = [
    "user.created",
    "user.updated",
    "user.deactivated",
    "user.reactivated",
    "user.deleted",
    "team.created",
    "team.updated",
    "team.deleted",
    "team.member_added",
    "team.member_removed",
];

impl EventKind {
    /// The `type` of the event.
    pub fn as_str(self) -> &'static str {
        let i = match self {
            EventKind::UserCreated => 0,
            EventKind::UserUpdated => 1,
            EventKind::UserDeactivated => 2,
            EventKind::UserReactivated => 3,
            EventKind::UserDeleted => 4,
            EventKind::TeamCreated => 5,
            EventKind::TeamUpdated => 6,
            EventKind::TeamDeleted => 7,
            EventKind::TeamMemberAdded => 8,
            EventKind::TeamMemberRemoved => 9,
        };
        EVENT_TYPES[i]
    }

    /// Whether an event of type `kind` carries a membership (team and user) rather than a
    /// resource.
    pub fn is_member(kind: &str) -> bool {
        kind.starts_with("team.member_")
    }

    /// The event a created resource produces.
    pub fn created(rt: ResourceType) -> EventKind {
        match rt {
            ResourceType::User => EventKind::UserCreated,
            ResourceType::Group => EventKind::TeamCreated,
        }
    }

    /// The event a deleted resource produces.
    pub fn deleted(rt: ResourceType) -> EventKind {
        match rt {
            ResourceType::User => EventKind::UserDeleted,
            ResourceType::Group => EventKind::TeamDeleted,
        }
    }
}
