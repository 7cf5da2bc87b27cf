//! Masking of personal data for roles that may not see it: enough is left to recognise a
//! value you already know (`z***@example.com`, `138****0000`), not to learn one.

use serde_json::Value as Json;

/// `zhang@example.com` -> `z***@example.com`.
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((user, domain)) => format!("{}***@{domain}", user.chars().next().unwrap_or('*')),
        None => mask_text(email),
    }
}

/// `+8613800000000` -> `+86138****0000`; `138-0000-0000` -> `138****0000`: the first three and
/// last four digits stay.
pub fn mask_phone(phone: &str) -> String {
    let plus = phone.starts_with('+');
    let digits: Vec<char> = phone.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < 8 {
        return "****".to_owned();
    }
    // Keep a country code when the number came in E.164.
    let country = if plus && digits.len() > 11 { digits.len() - 11 } else { 0 };
    let head: String = digits[..country + 3].iter().collect();
    let tail: String = digits[digits.len() - 4..].iter().collect();
    format!("{}{head}****{tail}", if plus { "+" } else { "" })
}

// Anything else: the first character, then stars.
fn mask_text(s: &str) -> String {
    match s.chars().next() {
        Some(c) => format!("{c}***"),
        None => String::new(),
    }
}

/// Masks an identifier of type `kind` (emails and phones by their shape, the rest by length).
pub fn mask_identifier(kind: &str, value: &str) -> String {
    match kind {
        "email" => mask_email(value),
        "phone" | "mobile" => mask_phone(value),
        _ if value.contains('@') => mask_email(value),
        _ => mask_text(value),
    }
}

/// Tags that carry identifiers in events (masked like identifiers).
pub(crate) fn is_identifier_tag(key: &str) -> bool {
    matches!(key, "customer" | "anon" | "email" | "phone" | "member_card" | "user_id" | "device_id")
}

/// Masks a personal field's JSON value (strings by shape; numbers and booleans become `***`).
pub fn mask_value(name: &str, v: &Json) -> Json {
    match v {
        Json::Null => Json::Null,
        Json::String(s) => Json::String(mask_identifier(name, s)),
        _ => Json::String("***".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keep_what_lets_you_recognise_a_value_you_know() {
        assert_eq!(mask_email("zhang@example.com"), "z***@example.com");
        assert_eq!(mask_phone("138-0000-0000"), "138****0000");
        assert_eq!(mask_phone("+8613800000000"), "+86138****0000");
        assert_eq!(mask_phone("12"), "****");
        assert_eq!(mask_identifier("name", "李鹏"), "李***");
        assert_eq!(mask_value("birthday", &Json::from(19880427)), Json::from("***"));
    }
}
