//! How to address a customer: the salutation that depends on the gender code and the surname,
//! per locale, and the opt-out line an SMS must carry.
//!
//! Chinese names put the surname first, one character, or two for the compound surnames in
//! [`COMPOUND`] (欧阳, 司马, ...). Latin-script names put it last. Without a gender code (0) or a
//! name, the polite neutral form: 尊敬的客户, Dear customer.

/// Compound Chinese surnames (two characters), the common ones.
const COMPOUND: [&str; 20] = [
    "欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒", "夏侯", "轩辕",
    "令狐", "端木", "独孤", "南宫", "西门", "万俟",
];

fn is_han(c: char) -> bool {
    matches!(c as u32, 0x4E00..=0x9FFF | 0x3400..=0x4DBF)
}

/// The surname in a full name.
pub fn surname(name: &str) -> Option<String> {
    let name = name.trim();
    let first = name.chars().next()?;
    if is_han(first) {
        if let Some(c) = COMPOUND.iter().find(|c| name.starts_with(**c) && name.chars().count() > 2) {
            return Some((*c).to_owned());
        }
        return Some(first.to_string());
    }
    name.split_whitespace().last().map(|s| s.trim_end_matches(',').to_owned()).filter(|s| !s.is_empty())
}

/// The salutation for `locale`, and the surname it used.
pub fn salutation(locale: &str, name: Option<&str>, gender: i64) -> (String, Option<String>) {
    let sur = name.and_then(surname);
    let zh = locale.starts_with("zh");
    let text = match (zh, gender, &sur) {
        (true, 1, Some(s)) => format!("尊敬的{s}先生"),
        (true, 2, Some(s)) => format!("尊敬的{s}女士"),
        (true, _, _) => "尊敬的客户".to_owned(),
        (false, 1, Some(s)) => format!("Dear Mr. {s}"),
        (false, 2, Some(s)) => format!("Dear Ms. {s}"),
        (false, _, _) => "Dear customer".to_owned(),
    };
    (text, sur)
}

/// The opt-out line of an SMS in `locale`.
pub fn opt_out_text(locale: &str) -> &'static str {
    if locale.starts_with("zh") { "回T退订" } else { "Reply STOP to opt out" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn salutations_by_gender_name_and_locale() {
        assert_eq!(salutation("zh", Some("张伟"), 1).0, "尊敬的张先生");
        assert_eq!(salutation("zh", Some("李娜"), 2).0, "尊敬的李女士");
        assert_eq!(salutation("zh", Some("欧阳娜娜"), 2).0, "尊敬的欧阳女士");
        assert_eq!(salutation("zh-CN", Some("王芳"), 0).0, "尊敬的客户");
        assert_eq!(salutation("zh", None, 1).0, "尊敬的客户");
        assert_eq!(salutation("en", Some("John Smith"), 1).0, "Dear Mr. Smith");
        assert_eq!(salutation("en", Some("张伟"), 1).0, "Dear Mr. 张");
        assert_eq!(salutation("en", Some("Jane Doe"), 2).0, "Dear Ms. Doe");
        assert_eq!(salutation("en", None, 2).0, "Dear customer");
        assert_eq!(surname("欧阳"), Some("欧".to_owned()), "a two-character name is surname + given name");
    }
}
