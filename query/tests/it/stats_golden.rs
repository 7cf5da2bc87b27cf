//! Golden values for the experiment statistics, computed independently and written here with
//! their source. Unless said otherwise they come from scipy 1.17.1 and statsmodels 0.15.0
//! (Python 3.11): `proportions_ztest`, `confint_proportions_2indep(method="wald")`,
//! `ttest_ind_from_stats(equal_var=False)`, `t.ppf`, `chisquare`, `multipletests("holm")`,
//! and for the Bayesian numbers numerical integration with `integrate.quad` of the beta and
//! normal densities (not the closed forms used by the engine). Held to 1e-9 relative error.

use cxp_query::stats::bayes;
use cxp_query::stats::means::{Summary, welch};
use cxp_query::stats::multiple::holm;
use cxp_query::stats::power::{power_of, sample_size};
use cxp_query::stats::proportions::{Counts, two_proportions};
use cxp_query::stats::srm::srm;

fn close(got: f64, want: f64, what: &str) {
    let err = if want == 0.0 { got.abs() } else { ((got - want) / want).abs() };
    assert!(err < 1e-9, "{what}: got {got:e}, want {want:e} (relative error {err:e})");
}

fn counts(s: &str) -> Counts {
    Counts::parse(s).expect("valid counts")
}

#[test]
fn two_proportions_match_statsmodels() {
    let t = two_proportions(counts("120/1000"), counts("150/1000"), 0.05).expect("test");
    close(t.z, 1.963049807622355, "z");
    close(t.p_value, 0.04964038686536878, "p");
    close(t.difference_ci.low, 7.60288212977786e-05, "ci low");
    close(t.difference_ci.high, 0.05992397117870222, "ci high");
    close(t.relative_lift.expect("lift"), 0.25, "relative lift");
    // numpy, the delta-method formula written out: sqrt(v2/p1^2 + p2^2 v1/p1^4).
    let rel = t.relative_ci.expect("relative ci");
    close(rel.low, -0.029337846156494596, "rel low");
    close(rel.high, 0.5293378461564946, "rel high");

    let t = two_proportions(counts("10000/100000"), counts("10300/100000"), 0.01).expect("test");
    close(t.z, 2.2213356931104937, "z");
    close(t.p_value, 0.02632823304899259, "p");
    close(t.difference_ci.low, -0.0004787144550205155, "ci99 low");
    close(t.difference_ci.high, 0.0064787144550204935, "ci99 high");
}

#[test]
fn welch_matches_scipy() {
    let c = Summary::parse("10.2,3.1,500").expect("summary");
    let v = Summary::parse("10.9,3.8,450").expect("summary");
    let t = welch(c, v, 0.05).expect("test");
    close(t.t, 3.090307778447545, "t");
    close(t.p_value, 0.002063279697953191, "p");
    close(t.df, 867.8120061401822, "df");
    close(t.difference_ci.low, 0.25541937880923526, "ci low");
    close(t.difference_ci.high, 1.1445806211907645, "ci high");

    // Few degrees of freedom, where the t quantile differs most from the normal one.
    let t = welch(Summary { mean: 5.0, sd: 1.0, n: 5 }, Summary { mean: 7.0, sd: 2.5, n: 4 }, 0.05).expect("test");
    close(t.t, 1.506487154309419, "t");
    close(t.p_value, 0.2106211760768659, "p");
    close(t.df, 3.7708162104065246, "df");
    close(t.difference_ci.low, -1.7760414773817064, "ci low");
    close(t.difference_ci.high, 5.776041477381707, "ci high");
}

#[test]
fn beta_binomial_matches_numerical_integration() {
    let b = bayes::proportions(counts("120/1000"), counts("150/1000")).expect("bayes");
    close(b.chance_to_beat_control, 0.9750678368121435, "chance");
    close(b.expected_loss_variant, 0.0001441778551118324, "loss variant");
    close(b.expected_loss_control, 0.03008429761559086, "loss control");
    let b = bayes::proportions(counts("3/10"), counts("5/12")).expect("bayes");
    close(b.chance_to_beat_control, 0.6998923139049672, "chance small");
    close(b.expected_loss_variant, 0.03576460332416718, "loss variant small");
    close(b.expected_loss_control, 0.13100269856226238, "loss control small");
}

#[test]
fn beta_binomial_is_symmetric_and_fast_enough_for_large_counts() {
    // 1M customers per arm: the sum has 100k terms; the two directions must add up to 1.
    let (a, b) = (counts("100000/1000000"), counts("100900/1000000"));
    let ab = bayes::proportions(a, b).expect("bayes");
    let ba = bayes::proportions(b, a).expect("bayes");
    assert!((ab.chance_to_beat_control + ba.chance_to_beat_control - 1.0).abs() < 1e-9, "{ab:?} {ba:?}");
    // scipy: quad(B.pdf * A.cdf) over [0.095, 0.106], Beta(100001, 900001) and Beta(100901, 899101).
    close(ab.chance_to_beat_control, 0.9828739135415764, "chance at a million");
}

#[test]
fn normal_bayes_matches_numerical_integration() {
    let c = Summary::parse("10.2,3.1,500").expect("summary");
    let v = Summary::parse("10.9,3.8,450").expect("summary");
    let b = bayes::means(c, v).expect("bayes");
    close(b.chance_to_beat_control, 0.9990002540923322, "chance");
    close(b.expected_loss_variant, 6.2695249028248e-05, "loss variant");
    close(b.expected_loss_control, 0.7000626952490282, "loss control");
}

#[test]
fn holm_matches_statsmodels() {
    let got = holm(&[0.01, 0.04, 0.03, 0.005, 0.2]);
    for (g, w) in got.iter().zip([0.04, 0.09, 0.09, 0.025, 0.2]) {
        close(*g, w, "holm");
    }
}

#[test]
fn srm_matches_scipy_chisquare() {
    type Case<'a> = (&'a [u64], &'a [f64], f64, f64, bool);
    let cases: [Case; 4] = [
        (&[5050, 4950], &[1.0, 1.0], 1.0, 0.31731050786291115, false),
        (&[5200, 4800], &[50.0, 50.0], 16.0, 6.334248366623988e-05, true),
        (&[3400, 3300, 3500], &[1.0, 1.0, 1.0], 5.882352941176471, 0.0528035703343005, false),
        (&[2100, 7900], &[20.0, 80.0], 6.25, 0.01241933065155227, false),
    ];
    for (obs, w, chi, p, flag) in cases {
        let s = srm(obs, w).expect("srm");
        close(s.chi_square, chi, "chi-square");
        close(s.p_value, p, "p");
        assert_eq!(s.mismatch, flag, "{obs:?}");
    }
}

#[test]
fn sample_size_matches_r_power_prop_test() {
    // R 4.x: power.prop.test(p1 = 0.1, p2 = 0.12, power = 0.8) gives n = 3840.847; the exact
    // value below is the same closed form evaluated with scipy's norm.ppf.
    let p = sample_size(0.1, 0.02, 0.8, 0.05).expect("plan");
    close(p.exact_per_variant, 3840.8474824362725, "n");
    assert_eq!(p.per_variant, 3841);
    let p = sample_size(0.05, -0.005, 0.9, 0.01).expect("plan");
    close(p.exact_per_variant, 53853.470085844, "n (decrease, 99%, power 0.9)");
    let back = power_of(0.1, 0.02, 3840.8474824362725, 0.05).expect("power");
    close(back, 0.8, "power at the planned n");
}

#[test]
fn bad_input_says_what_is_wrong() {
    let e = Counts::parse("150/100").expect_err("more successes than trials");
    assert!(e.to_string().contains("150 successes out of 100"), "{e}");
    assert!(Counts::parse("12").is_err());
    assert!(Summary::parse("1,2").is_err());
    assert!(sample_size(0.1, 0.0, 0.8, 0.05).is_err());
    assert!(sample_size(0.1, 0.02, 0.8, 1.5).is_err());
    assert!(two_proportions(counts("1/10"), counts("2/10"), 0.0).is_err());
}
