//! A bounded top-k selection, so a sorted page of a large result set never needs all of it in
//! memory.

use std::cmp::Ordering;

/// The `k` smallest of the items pushed, by a comparator, in O(k) memory: a sorted page of a
/// large result set without holding, or sorting, all of it. Equal items keep the order they
/// were pushed in, so the result is exactly that of a stable sort followed by `truncate(k)`.
///
/// Like `slice::sort_by`, `cmp` must be a total order.
pub struct TopK<T, F> {
    k: usize,
    cmp: F,
    /// Candidates with their push number, which breaks ties in favour of the earlier push. At
    /// most `2k` long: when full, the `k` best are selected in linear time and the rest dropped.
    /// `pub(super)` so the tests can check that bound.
    pub(super) buf: Vec<(u64, T)>,
    pushed: u64,
    /// Once the buffer has been cut back, the position of the worst item kept: an item not
    /// smaller than it can never make the cut, because it also comes later in push order.
    worst: Option<usize>,
}

impl<T, F: Fn(&T, &T) -> Ordering> TopK<T, F> {
    /// Keeps the `k` smallest items by `cmp`.
    pub fn new(k: usize, cmp: F) -> Self {
        TopK {
            k,
            cmp,
            buf: Vec::new(),
            pushed: 0,
            worst: None,
        }
    }

    pub fn push(&mut self, item: T) {
        if self.k == 0 {
            return;
        }
        if let Some((_, worst)) = self.worst.and_then(|i| self.buf.get(i)) {
            if (self.cmp)(&item, worst) != Ordering::Less {
                return;
            }
        }
        self.buf.push((self.pushed, item));
        self.pushed += 1;
        if self.buf.len() >= self.k.saturating_mul(2).max(2) {
            self.cut();
        }
    }

    /// The kept items, smallest first.
    pub fn into_sorted(self) -> Vec<T> {
        let TopK {
            k, cmp, mut buf, ..
        } = self;
        buf.sort_unstable_by(|a, b| cmp(&a.1, &b.1).then(a.0.cmp(&b.0)));
        buf.truncate(k);
        buf.into_iter().map(|(_, item)| item).collect()
    }

    /// Cuts the buffer back to the `k` best, with the worst of them last.
    fn cut(&mut self) {
        let cmp = &self.cmp;
        let Some(last) = self.k.checked_sub(1) else {
            return;
        };
        if self.buf.len() > self.k {
            self.buf
                .select_nth_unstable_by(last, |a, b| cmp(&a.1, &b.1).then(a.0.cmp(&b.0)));
            self.buf.truncate(self.k);
        }
        self.worst = Some(last);
    }
}
