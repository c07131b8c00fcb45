//! Ethnicity (民族) by GB 3304 code (SPEC PROF-2): the 56 nationalities plus 97 其他 and
//! 98 外国血统中国籍人士.

use std::fmt;

use serde::{Deserialize, Serialize, Serializer};
use thiserror::Error;

/// Code and name, indexed by the code's position in [`Ethnicity::ALL`].
const TABLE: [(&str, &str); 58] = [
    ("01", "汉族"),
    ("02", "蒙古族"),
    ("03", "回族"),
    ("04", "藏族"),
    ("05", "维吾尔族"),
    ("06", "苗族"),
    ("07", "彝族"),
    ("08", "壮族"),
    ("09", "布依族"),
    ("10", "朝鲜族"),
    ("11", "满族"),
    ("12", "侗族"),
    ("13", "瑶族"),
    ("14", "白族"),
    ("15", "土家族"),
    ("16", "哈尼族"),
    ("17", "哈萨克族"),
    ("18", "傣族"),
    ("19", "黎族"),
    ("20", "傈僳族"),
    ("21", "佤族"),
    ("22", "畲族"),
    ("23", "高山族"),
    ("24", "拉祜族"),
    ("25", "水族"),
    ("26", "东乡族"),
    ("27", "纳西族"),
    ("28", "景颇族"),
    ("29", "柯尔克孜族"),
    ("30", "土族"),
    ("31", "达斡尔族"),
    ("32", "仫佬族"),
    ("33", "羌族"),
    ("34", "布朗族"),
    ("35", "撒拉族"),
    ("36", "毛南族"),
    ("37", "仡佬族"),
    ("38", "锡伯族"),
    ("39", "阿昌族"),
    ("40", "普米族"),
    ("41", "塔吉克族"),
    ("42", "怒族"),
    ("43", "乌孜别克族"),
    ("44", "俄罗斯族"),
    ("45", "鄂温克族"),
    ("46", "德昂族"),
    ("47", "保安族"),
    ("48", "裕固族"),
    ("49", "京族"),
    ("50", "塔塔尔族"),
    ("51", "独龙族"),
    ("52", "鄂伦春族"),
    ("53", "赫哲族"),
    ("54", "门巴族"),
    ("55", "珞巴族"),
    ("56", "基诺族"),
    ("97", "其他"),
    ("98", "外国血统中国籍人士"),
];

/// A GB 3304 ethnicity. The field is the numeric code (1-56, 97, 98).
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "String")]
pub struct Ethnicity(u8);

/// Why an ethnicity code was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("民族不正确，请从列表中选择民族")]
pub struct EthnicityError;

impl Ethnicity {
    /// Every code in list order (01 汉族 … 56 基诺族, 97 其他, 98 外国血统中国籍人士).
    pub const ALL: [Ethnicity; 58] = {
        let mut all = [Ethnicity(0); 58];
        let mut i = 0;
        while i < 58 {
            all[i] = Ethnicity(if i < 56 { i as u8 + 1 } else { i as u8 + 41 });
            i += 1;
        }
        all
    };

    /// 汉族, the default of most forms.
    pub const HAN: Ethnicity = Ethnicity(1);

    /// Accepts exactly the two-digit code strings `"01"`..`"56"`, `"97"`, `"98"`.
    pub fn parse(code: &str) -> Result<Ethnicity, EthnicityError> {
        match code.as_bytes() {
            &[a, b] if a.is_ascii_digit() && b.is_ascii_digit() => {
                let n = (a - b'0') * 10 + (b - b'0');
                match n {
                    1..=56 | 97 | 98 => Ok(Ethnicity(n)),
                    _ => Err(EthnicityError),
                }
            }
            _ => Err(EthnicityError),
        }
    }

    /// Looks up a name as listed (`汉族`, `其他` …).
    pub fn from_name_zh(name: &str) -> Option<Ethnicity> {
        Ethnicity::ALL.into_iter().find(|e| e.name_zh() == name)
    }

    fn entry(self) -> (&'static str, &'static str) {
        let i = match self.0 {
            97 => 56,
            98 => 57,
            n => usize::from(n.saturating_sub(1)),
        };
        TABLE.get(i).copied().unwrap_or(("97", "其他"))
    }

    /// The two-digit code string, e.g. `"01"`.
    pub fn code(&self) -> &'static str {
        self.entry().0
    }

    pub fn name_zh(&self) -> &'static str {
        self.entry().1
    }

    pub fn as_str(&self) -> &'static str {
        self.code()
    }
}

impl TryFrom<String> for Ethnicity {
    type Error = EthnicityError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Ethnicity::parse(&s)
    }
}

impl Serialize for Ethnicity {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl fmt::Debug for Ethnicity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ethnicity({} {})", self.code(), self.name_zh())
    }
}

impl AsRef<str> for Ethnicity {
    fn as_ref(&self) -> &str {
        self.code()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn table_is_consistent() {
        for (i, e) in Ethnicity::ALL.into_iter().enumerate() {
            assert_eq!(e.code(), TABLE[i].0);
            assert_eq!(Ethnicity::parse(e.code()), Ok(e));
            assert_eq!(Ethnicity::from_name_zh(e.name_zh()), Some(e));
        }
        assert_eq!(Ethnicity::parse("01").unwrap().name_zh(), "汉族");
        assert_eq!(Ethnicity::HAN.code(), "01");
        assert_eq!(Ethnicity::parse("22").unwrap().name_zh(), "畲族");
        assert_eq!(Ethnicity::parse("56").unwrap().name_zh(), "基诺族");
        assert_eq!(Ethnicity::parse("97").unwrap().name_zh(), "其他");
        assert_eq!(Ethnicity::parse("98").unwrap().name_zh(), "外国血统中国籍人士");
    }

    #[test]
    fn refusals() {
        for bad in ["", "1", "00", "57", "96", "99", "001", " 01", "０１", "ab"] {
            assert_eq!(Ethnicity::parse(bad), Err(EthnicityError), "{bad}");
        }
        assert_eq!(EthnicityError.to_string(), "民族不正确，请从列表中选择民族");
    }

    #[test]
    fn serde_as_code_string() {
        let e = Ethnicity::parse("05").unwrap();
        assert_eq!(serde_json::to_string(&e).unwrap(), "\"05\"");
        assert_eq!(serde_json::from_str::<Ethnicity>("\"05\"").unwrap(), e);
        assert!(serde_json::from_str::<Ethnicity>("\"5\"").is_err());
        assert!(serde_json::from_str::<Ethnicity>("5").is_err());
        assert_eq!(format!("{e:?}"), "Ethnicity(05 维吾尔族)");
    }

    proptest! {
        #[test]
        fn arbitrary_strings_never_panic(s in any::<String>()) {
            if let Ok(e) = Ethnicity::parse(&s) {
                prop_assert_eq!(e.code(), s.as_str());
            }
        }
    }
}
