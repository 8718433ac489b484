//! Calibration functions `g = F(u)` of Deville & Särndal (1992), with their derivatives and
//! primitives (the primitive makes the Newton iterations minimise a convex dual objective).

/// A calibration function `F` with `F(0) = 1`, `F'(0) = 1`, increasing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Calfun {
    /// `F(u) = 1 + u` (chi-square distance, GREG).
    Linear,
    /// `F(u) = e^u` (raking / minimum cross-entropy).
    Exp,
    /// Bounded logit: `F(u) = L + (U − L) σ(A u + b)` with `A = (U − L) / ((1 − L)(U − 1))`,
    /// `b = ln((1 − L) / (U − 1))`, which is Deville & Särndal's
    /// `[L(U−1) + U(1−L)e^{Au}] / [(U−1) + (1−L)e^{Au}]` written with the logistic `σ`.
    Logit(Logit),
}

/// Constants of the bounded logit function.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Logit {
    pub(crate) lower: f64,
    pub(crate) upper: f64,
    /// `A = (U − L) / ((1 − L)(U − 1))`.
    pub(crate) a: f64,
    /// `b = ln((1 − L) / (U − 1))`, so that `F(0) = 1`.
    pub(crate) b: f64,
    /// `(1 − L)(U − 1) = (U − L) / A`, the scale of the primitive's softplus term.
    c: f64,
    /// `softplus(b)`, so that the primitive vanishes at 0.
    softplus_b: f64,
}

impl Logit {
    /// The logit function for bounds `L < 1 < U` (checked by the caller).
    pub(crate) fn new(lower: f64, upper: f64) -> Logit {
        let c = (1.0 - lower) * (upper - 1.0);
        let a = (upper - lower) / c;
        let b = ((1.0 - lower) / (upper - 1.0)).ln();
        Logit { lower, upper, a, b, c, softplus_b: softplus(b) }
    }

    /// The asymptotic support function `h(v) = U v` for `v > 0`, `L v` otherwise: the largest
    /// value of `g · v` over `g ∈ [L, U]`.
    #[inline]
    pub(crate) fn support(&self, v: f64) -> f64 {
        if v > 0.0 {
            self.upper * v
        } else {
            self.lower * v
        }
    }
}

/// `σ(x) = 1 / (1 + e^{−x})`, without overflow.
#[inline]
fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// `ln(1 + e^x)`, without overflow.
#[inline]
fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

impl Calfun {
    /// `F(u)`, the g-weight.
    #[inline]
    pub(crate) fn g(&self, u: f64) -> f64 {
        match self {
            Calfun::Linear => 1.0 + u,
            Calfun::Exp => u.exp(),
            Calfun::Logit(l) => l.lower + (l.upper - l.lower) * sigmoid(l.a * u + l.b),
        }
    }

    /// `F'(u)`.
    #[inline]
    pub(crate) fn dg(&self, u: f64) -> f64 {
        match self {
            Calfun::Linear => 1.0,
            Calfun::Exp => u.exp(),
            Calfun::Logit(l) => {
                let x = l.a * u + l.b;
                (l.upper - l.lower) * l.a * sigmoid(x) * sigmoid(-x)
            }
        }
    }

    /// `F(u)` and `F'(u)` together.
    #[inline]
    pub(crate) fn g_dg(&self, u: f64) -> (f64, f64) {
        match self {
            Calfun::Linear => (1.0 + u, 1.0),
            Calfun::Exp => {
                let e = u.exp();
                (e, e)
            }
            Calfun::Logit(_) => (self.g(u), self.dg(u)),
        }
    }

    /// The scale of `u` over which `F` changes materially: `A` for logit (whose logistic argument
    /// is `A u + b`), 1 for exp, 0 for linear (no step limit is needed on a quadratic).
    pub(crate) fn scale(&self) -> f64 {
        match self {
            Calfun::Linear => 0.0,
            Calfun::Exp => 1.0,
            Calfun::Logit(l) => l.a,
        }
    }

    /// The primitive without the constant that makes it vanish at 0: `(1 + u)²/2`, `e^u`, or
    /// `L u + (1 − L)(U − 1) softplus(A u + b)`. Summed over cells whose weights are far below
    /// their design weights, it does not cancel as [`Calfun::primitive`] does (`e^u − 1 ≈ −1`).
    #[inline]
    pub(crate) fn potential(&self, u: f64) -> f64 {
        match self {
            Calfun::Linear => 0.5 * (1.0 + u) * (1.0 + u),
            Calfun::Exp => u.exp(),
            Calfun::Logit(l) => l.lower * u + l.c * softplus(l.a * u + l.b),
        }
    }

    /// `u` with `F(u) = g`, if there is one (`L < g < U` for logit, `g > 0` for exp).
    pub(crate) fn inverse(&self, g: f64) -> Option<f64> {
        let u = match self {
            Calfun::Linear => g - 1.0,
            Calfun::Exp if g > 0.0 => g.ln(),
            Calfun::Logit(l) if l.lower < g && g < l.upper => {
                let s = (g - l.lower) / (l.upper - l.lower);
                ((s / (1.0 - s)).ln() - l.b) / l.a
            }
            _ => return None,
        };
        u.is_finite().then_some(u)
    }

    /// The primitive `∫_0^u F(s) ds`: `u + u²/2`, `e^u − 1`, or
    /// `L u + (1 − L)(U − 1)[softplus(A u + b) − softplus(b)]`.
    #[inline]
    pub(crate) fn primitive(&self, u: f64) -> f64 {
        match self {
            Calfun::Linear => u + 0.5 * u * u,
            Calfun::Exp => u.exp_m1(),
            Calfun::Logit(l) => l.lower * u + l.c * (softplus(l.a * u + l.b) - l.softplus_b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logit_matches_the_deville_sarndal_form_and_is_normalised() {
        let (lo, hi) = (0.815, 1.06);
        let f = Calfun::Logit(Logit::new(lo, hi));
        let a = (hi - lo) / ((1.0 - lo) * (hi - 1.0));
        for &u in &[-3.0, -0.5, -0.01, 0.0, 0.02, 0.4, 2.0] {
            let e = (a * u).exp();
            let ds = (lo * (hi - 1.0) + hi * (1.0 - lo) * e) / ((hi - 1.0) + (1.0 - lo) * e);
            assert!((f.g(u) - ds).abs() < 1e-14, "u = {u}: {} vs {ds}", f.g(u));
            let h = 1e-6;
            let numeric = (f.g(u + h) - f.g(u - h)) / (2.0 * h);
            assert!((f.dg(u) - numeric).abs() < 1e-7 * (1.0 + numeric.abs()));
            let numeric = (f.primitive(u + h) - f.primitive(u - h)) / (2.0 * h);
            assert!((f.g(u) - numeric).abs() < 1e-7);
        }
        assert!((f.g(0.0) - 1.0).abs() < 1e-15);
        assert!((f.dg(0.0) - 1.0).abs() < 1e-14);
        assert_eq!(f.primitive(0.0), 0.0);
        assert!(f.g(1e6) <= hi && f.g(-1e6) >= lo && f.dg(1e6) == 0.0);
    }

    #[test]
    fn potentials_differ_from_primitives_by_constants_and_inverses_invert() {
        for f in
            [Calfun::Linear, Calfun::Exp, Calfun::Logit(Logit::new(0.3, 2.5)), Calfun::Logit(Logit::new(0.0, 1e30))]
        {
            let shift = f.potential(0.0);
            for &u in &[-2.0, -0.1, 0.0, 0.4, 1.5] {
                assert!((f.potential(u) - shift - f.primitive(u)).abs() < 1e-12 * (1.0 + shift.abs()), "{f:?} {u}");
                let back = f.inverse(f.g(u)).unwrap();
                assert!((back - u).abs() < 1e-9, "{f:?}: {u} -> {back}");
            }
        }
        assert_eq!(Calfun::Exp.inverse(0.0), None);
        assert_eq!(Calfun::Logit(Logit::new(0.5, 2.0)).inverse(2.0), None);
        let wide = Calfun::Logit(Logit::new(1e-30, 1e30));
        assert!((wide.inverse(5e-19).unwrap() - 5e-19f64.ln()).abs() < 1e-6);
    }

    #[test]
    fn linear_and_exp_have_the_textbook_forms() {
        for &u in &[-1.0, 0.0, 0.3] {
            assert_eq!(Calfun::Linear.g(u), 1.0 + u);
            assert_eq!(Calfun::Linear.primitive(u), u + u * u / 2.0);
            assert_eq!(Calfun::Exp.g(u), u.exp());
            assert_eq!(Calfun::Exp.g_dg(u), (u.exp(), u.exp()));
            assert!((Calfun::Exp.primitive(u) - (u.exp() - 1.0)).abs() < 1e-15);
        }
    }
}
