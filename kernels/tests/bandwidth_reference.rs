//! The triad of the bandwidth probe against its specification in `reference`.

use sdae_kernels::{bandwidth, reference};

#[test]
fn triad_matches_reference() {
    let n = 1037;
    let b: Vec<f32> = (0..n).map(|i| (i as f32).sin()).collect();
    let c: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).cos()).collect();
    let mut a = vec![f32::NAN; n];
    bandwidth::triad(&mut a, &b, &c, -1.75).unwrap();
    let mut want = vec![0.0f32; n];
    reference::triad(&mut want, &b, &c, -1.75);
    for i in 0..n {
        assert!(
            (a[i] - want[i]).abs() <= 1e-6 * want[i].abs().max(1.0),
            "i={i}"
        );
    }
}
