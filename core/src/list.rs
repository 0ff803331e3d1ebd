//! List responses: attribute projection, sorting and paging.
