//! Consent: the categories a visitor can allow, what a choice permits, and how
//! the signals of common consent platforms (IAB TCF v2.2, Google Consent Mode
//! v2) map onto Cairn's categories.

use alloc::string::String;
use serde_json::{Map, Value};

/// Purposes a visitor can allow. `Necessary` is always on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    Necessary,
    Analytics,
    Marketing,
    Personalization,
}

impl Category {
    pub const ALL: [Category; 4] =
        [Category::Necessary, Category::Analytics, Category::Marketing, Category::Personalization];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Necessary => "necessary",
            Category::Analytics => "analytics",
            Category::Marketing => "marketing",
            Category::Personalization => "personalization",
        }
    }

    pub fn parse(s: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.as_str() == s)
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// How a site asks for consent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// Nothing but what is necessary until the visitor allows more (GDPR).
    #[default]
    OptIn,
    /// Everything until the visitor objects (CCPA-style).
    OptOut,
}

/// A visitor's choice, one bit per category.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Preferences(u8);

impl Preferences {
    /// Only what is necessary.
    pub const NECESSARY_ONLY: Preferences = Preferences(1);
    pub const ALL: Preferences = Preferences(0b1111);

    /// What holds before the visitor has chosen.
    pub fn initial(mode: Mode) -> Preferences {
        match mode {
            Mode::OptIn => Preferences::NECESSARY_ONLY,
            Mode::OptOut => Preferences::ALL,
        }
    }

    pub fn allows(self, c: Category) -> bool {
        c == Category::Necessary || self.0 & c.bit() != 0
    }

    #[must_use]
    pub fn with(self, c: Category, allowed: bool) -> Preferences {
        if c == Category::Necessary {
            return self;
        }
        Preferences(if allowed { self.0 | c.bit() } else { self.0 & !c.bit() })
    }

    /// Identifiers may be stored on the device (cookie, localStorage) only
    /// when the visitor allows analytics: that is what they are for.
    pub fn allows_storage(self) -> bool {
        self.allows(Category::Analytics)
    }

    /// Reads `{"analytics": true, ...}` (the Spec's `categoryPreferences`).
    /// Categories not named keep their value in `base`; unknown names are ignored.
    pub fn from_json(base: Preferences, v: &Value) -> Preferences {
        let Some(obj) = v.as_object() else { return base };
        obj.iter().fold(base, |p, (k, v)| match (Category::parse(k), v.as_bool()) {
            (Some(c), Some(allowed)) => p.with(c, allowed),
            _ => p,
        })
    }

    /// `{"necessary": true, "analytics": false, ...}` for `context.consent.categoryPreferences`.
    pub fn to_json(self) -> Value {
        let mut m = Map::new();
        for c in Category::ALL {
            m.insert(String::from(c.as_str()), Value::Bool(self.allows(c)));
        }
        Value::Object(m)
    }

    /// Writes `{"necessary":true,"analytics":false,...}` as JSON text (the SDK's
    /// form of `to_json`, without a `Value`).
    pub fn write_json(self, out: &mut String) {
        let mut o = crate::json_out::Obj::new(out);
        for c in Category::ALL {
            o.bool(c.as_str(), self.allows(c));
        }
        o.end();
    }

    /// From an IAB TCF v2.2 TC data's purpose consents (purpose id -> consent).
    /// Purpose 1 (store and access information on a device) gates everything
    /// but what is necessary; then 7-10 (measurement, research, product
    /// development) mean analytics, 2-4 (ads) marketing, 5-6 (content
    /// profiles) personalization. A category needs all of its purposes.
    pub fn from_tcf(purpose_consent: impl Fn(u8) -> bool) -> Preferences {
        if !purpose_consent(1) {
            return Preferences::NECESSARY_ONLY;
        }
        let all = |ids: &[u8]| ids.iter().all(|&id| purpose_consent(id));
        Preferences::NECESSARY_ONLY
            .with(Category::Analytics, all(&[7, 8, 9, 10]))
            .with(Category::Marketing, all(&[2, 3, 4]))
            .with(Category::Personalization, all(&[5, 6]))
    }

    /// From Google Consent Mode v2 signals (`analytics_storage: "granted"`, ...).
    /// Marketing needs all three ad signals; unknown or missing signals deny.
    pub fn from_google_consent_mode(signal: impl Fn(&str) -> Option<bool>) -> Preferences {
        let granted = |k: &str| signal(k).unwrap_or(false);
        Preferences::NECESSARY_ONLY
            .with(Category::Analytics, granted("analytics_storage"))
            .with(
                Category::Marketing,
                granted("ad_storage") && granted("ad_user_data") && granted("ad_personalization"),
            )
            .with(Category::Personalization, granted("personalization_storage"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec::Vec;
    use expect_test::expect;

    fn show(p: Preferences) -> String {
        let on: Vec<&str> = Category::ALL.into_iter().filter(|c| p.allows(*c)).map(Category::as_str).collect();
        on.join(",")
    }

    #[test]
    fn modes_start_where_the_law_expects() {
        expect!["necessary"].assert_eq(&show(Preferences::initial(Mode::OptIn)));
        expect!["necessary,analytics,marketing,personalization"].assert_eq(&show(Preferences::initial(Mode::OptOut)));
        assert!(!Preferences::initial(Mode::OptIn).allows_storage());
    }

    #[test]
    fn necessary_cannot_be_turned_off_and_json_round_trips() {
        let p = Preferences::ALL.with(Category::Necessary, false).with(Category::Marketing, false);
        expect!["necessary,analytics,personalization"].assert_eq(&show(p));
        expect![[r#"{"analytics":true,"marketing":false,"necessary":true,"personalization":true}"#]]
            .assert_eq(&p.to_json().to_string());
        assert_eq!(Preferences::from_json(Preferences::NECESSARY_ONLY, &p.to_json()), p);
        let mut written = String::new();
        p.write_json(&mut written);
        expect![[r#"{"necessary":true,"analytics":true,"marketing":false,"personalization":true}"#]]
            .assert_eq(&written);
        assert_eq!(serde_json::from_str::<Value>(&written).expect("json"), p.to_json());
        let partial: Value =
            serde_json::from_str(r#"{"analytics": true, "ads": true, "marketing": "yes"}"#).expect("json");
        expect!["necessary,analytics"].assert_eq(&show(Preferences::from_json(Preferences::NECESSARY_ONLY, &partial)));
    }

    #[test]
    fn tcf_purposes_map_to_categories() {
        let cases: [(&[u8], &str); 5] = [
            (&[], "necessary"),
            (&[2, 3, 4, 5, 6, 7, 8, 9, 10], "necessary"),
            (&[1, 7, 8, 9, 10], "necessary,analytics"),
            (&[1, 2, 3, 4, 7, 8, 9], "necessary,marketing"),
            (&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], "necessary,analytics,marketing,personalization"),
        ];
        for (purposes, want) in cases {
            assert_eq!(show(Preferences::from_tcf(|id| purposes.contains(&id))), want, "{purposes:?}");
        }
    }

    #[test]
    fn google_consent_mode_maps_to_categories() {
        let signals = |granted: &'static [&'static str]| move |k: &str| Some(granted.contains(&k));
        expect!["necessary"].assert_eq(&show(Preferences::from_google_consent_mode(|_| None)));
        expect!["necessary,analytics"]
            .assert_eq(&show(Preferences::from_google_consent_mode(signals(&["analytics_storage", "ad_storage"]))));
        expect!["necessary,marketing,personalization"].assert_eq(&show(Preferences::from_google_consent_mode(
            signals(&["ad_storage", "ad_user_data", "ad_personalization", "personalization_storage"]),
        )));
    }
}
