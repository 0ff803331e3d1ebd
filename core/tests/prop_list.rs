//! Properties of the list helpers: `TopK` keeps exactly what a stable sort and a truncation
//! would, ties included.

mod support;

use proptest::prelude::*;
use scimd_core::list::TopK;
use support::fuzz;

#[test]
fn fuzz_top_k_equals_stable_sort_then_take() {
    // Few distinct keys, so that ties (and their order) are the common case.
    let input = (
        prop::collection::vec((0u8..8, any::<u32>()), 0..300),
        0usize..40,
    );
    fuzz(
        "fuzz_top_k_equals_stable_sort_then_take",
        input,
        |(items, k)| {
            let mut top = TopK::new(k, |a: &(u8, u32), b: &(u8, u32)| a.0.cmp(&b.0));
            for item in &items {
                top.push(*item);
            }
            let mut want = items.clone();
            want.sort_by_key(|item| item.0);
            want.truncate(k);
            prop_assert_eq!(top.into_sorted(), want);
            Ok(())
        },
    );
}
