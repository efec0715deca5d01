//! Limits on bursts: a quota is so many takes per window for one key (an API key, a
//! tenant, an email signing in, a tenant's messages). How a limiter counts is its
//! adapter's business; what a caller is told is a `Verdict`.

/// A named limit, as the `RateLimit-Policy` header names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub name: &'static str,
    pub limit: u32,
    pub window_seconds: u32,
}

impl Quota {
    pub const fn per_minute(name: &'static str, limit: u32) -> Quota {
        Quota {
            name,
            limit,
            window_seconds: 60,
        }
    }

    pub const fn per_hour(name: &'static str, limit: u32) -> Quota {
        Quota {
            name,
            limit,
            window_seconds: 3600,
        }
    }

    /// The start of the fixed window `at` (seconds since the epoch) falls in, and the
    /// window's length: the key a counting store counts takes under.
    pub fn window_at(&self, at: i64) -> (i64, i64) {
        let window = i64::from(self.window_seconds.max(1));
        (at.div_euclid(window) * window, window)
    }

    /// What the `count`-th take in the window starting at `start` is told at `at`.
    pub fn verdict(&self, count: i64, start: i64, at: i64) -> Verdict {
        let (_, window) = self.window_at(at);
        let limit = i64::from(self.limit);
        let reset = u64::try_from(start + window - at).unwrap_or(0);
        Verdict {
            allowed: count <= limit,
            remaining: u32::try_from((limit - count).max(0)).unwrap_or(0),
            reset_seconds: if count <= limit { 0 } else { reset.max(1) },
        }
    }

    /// `RateLimit-Policy` (IETF draft): `"name";q=limit;w=window`.
    pub fn policy_header(&self) -> String {
        format!(
            "\"{}\";q={};w={}",
            self.name, self.limit, self.window_seconds
        )
    }
}

/// The answer to one take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub allowed: bool,
    /// Takes left in this window after this one.
    pub remaining: u32,
    /// Seconds until a take is allowed again (0 when allowed), or until the window resets.
    pub reset_seconds: u64,
}

impl Verdict {
    /// `RateLimit` (IETF draft): `"name";r=remaining;t=reset`.
    pub fn header(&self, quota: &Quota) -> String {
        format!(
            "\"{}\";r={};t={}",
            quota.name, self.remaining, self.reset_seconds
        )
    }
}

/// The limits of one deployment, from its configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Calls per minute per API key (`GREENLIGHT_RATE_LIMIT_PER_MINUTE`).
    pub per_key: Quota,
    /// Calls per minute per tenant, all its keys and sessions together.
    pub per_tenant: Quota,
    /// Messages to approvers per hour per tenant (`GREENLIGHT_MESSAGES_PER_HOUR`).
    pub messages: Quota,
    /// Sign-in attempts per email, and per client address.
    pub sign_in_per_email: Quota,
    pub sign_in_per_address: Quota,
}

impl Limits {
    pub const DEFAULT_PER_KEY: u32 = 600;
    pub const DEFAULT_MESSAGES_PER_HOUR: u32 = 1000;

    pub fn new(
        per_key_per_minute: u32,
        per_tenant_per_minute: u32,
        messages_per_hour: u32,
    ) -> Limits {
        Limits {
            per_key: Quota::per_minute("key", per_key_per_minute),
            per_tenant: Quota::per_minute("tenant", per_tenant_per_minute),
            messages: Quota::per_hour("messages", messages_per_hour),
            // Guessing a password by hand takes more than ten tries in a quarter hour;
            // guessing it by machine takes far more.
            sign_in_per_email: Quota {
                name: "sign-in",
                limit: 10,
                window_seconds: 900,
            },
            sign_in_per_address: Quota {
                name: "sign-in-address",
                limit: 50,
                window_seconds: 900,
            },
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::new(
            Limits::DEFAULT_PER_KEY,
            Limits::DEFAULT_PER_KEY * 5,
            Limits::DEFAULT_MESSAGES_PER_HOUR,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_window_counts_up_to_its_limit_then_says_when_it_resets() {
        let q = Quota::per_minute("key", 2);
        assert_eq!(q.window_at(125), (120, 60));
        assert_eq!(q.window_at(-1), (-60, 60));
        let last = q.verdict(2, 120, 125);
        assert_eq!(
            (last.allowed, last.remaining, last.reset_seconds),
            (true, 0, 0)
        );
        let past = q.verdict(3, 120, 125);
        assert_eq!(
            (past.allowed, past.remaining, past.reset_seconds),
            (false, 0, 55)
        );
        assert_eq!(
            q.verdict(3, 120, 180).reset_seconds,
            1,
            "never 0 while refused"
        );
    }

    #[test]
    fn headers_follow_the_ietf_draft() {
        let q = Quota::per_minute("key", 600);
        assert_eq!(q.policy_header(), "\"key\";q=600;w=60");
        let v = Verdict {
            allowed: false,
            remaining: 0,
            reset_seconds: 7,
        };
        assert_eq!(v.header(&q), "\"key\";r=0;t=7");
    }
}
