//! The registry's vocabularies: stable keys with Chinese and English labels. Imports accept a
//! key or either label, so offices can type 社会团体 in Excel.

/// (key, 中文, English).
pub type Term = (&'static str, &'static str, &'static str);

/// Kinds of organisation.
pub const KINDS: [Term; 7] = [
    ("social_group", "社会团体", "Social group"),
    ("social_service", "社会服务机构", "Social service organisation"),
    ("foundation", "基金会", "Foundation"),
    ("rescue_team", "社会救援队伍", "Social rescue team"),
    ("company", "企业", "Company"),
    ("community_body", "社区组织", "Community body"),
    ("gov_team", "政府专业队伍", "Government professional team"),
];

/// Filing states.
pub const STATES: [Term; 5] = [
    ("filed", "已报备待审核", "Filed, awaiting verification"),
    ("verified", "已审核", "Verified"),
    ("returned", "已退回修改", "Returned for changes"),
    ("rejected", "已驳回", "Rejected"),
    ("suspended", "已暂停", "Suspended"),
];

/// Domains of service.
pub const DOMAINS: [Term; 15] = [
    ("elderly", "养老助老", "Elderly care"),
    ("children", "儿童青少年", "Children and youth"),
    ("disability", "助残", "Disability support"),
    ("psychology", "心理服务", "Psychological support"),
    ("medical", "医疗卫生", "Medical and health"),
    ("first_aid", "应急救护", "First aid"),
    ("search_rescue", "综合搜救", "Search and rescue"),
    ("water_rescue", "水上搜救", "Water rescue"),
    ("mountain_rescue", "山地搜救", "Mountain search and rescue"),
    ("collapsed_structure", "建筑物倒塌搜救", "Collapsed-structure search and rescue"),
    ("diving", "潜水救援", "Diving rescue"),
    ("logistics", "物资保障", "Logistics"),
    ("communications", "应急通信", "Emergency communications"),
    ("legal", "法律服务", "Legal services"),
    ("other", "其他", "Other"),
];

/// Rescue specialties of social emergency forces (应急〔2024〕83号).
pub const SPECIALTIES: [Term; 5] = [
    ("collapsed_structure", "建筑物倒塌搜救", "Collapsed-structure search and rescue"),
    ("mountain_rescue", "山地搜救", "Mountain search and rescue"),
    ("water_rescue", "水上搜救", "Water rescue"),
    ("diving", "潜水救援", "Diving rescue"),
    ("emergency_medical", "应急医疗救护", "Emergency medical rescue"),
];

/// Classification grades of rescue teams (一级 highest).
pub const GRADES: [Term; 3] =
    [("grade1", "一级", "Grade 1"), ("grade2", "二级", "Grade 2"), ("grade3", "三级", "Grade 3")];

/// Kinds of review.
pub const REVIEW_KINDS: [Term; 3] = [
    ("inspection", "年检", "Yearly inspection"),
    ("evaluation", "评估", "Evaluation"),
    ("spot_check", "抽查", "Spot check"),
];

/// Results of a yearly inspection.
pub const INSPECTION_RESULTS: [Term; 3] =
    [("pass", "合格", "Pass"), ("basic_pass", "基本合格", "Basic pass"), ("fail", "不合格", "Fail")];

/// Evaluation grades.
pub const EVAL_GRADES: [Term; 5] =
    [("1A", "1A", "1A"), ("2A", "2A", "2A"), ("3A", "3A", "3A"), ("4A", "4A", "4A"), ("5A", "5A", "5A")];

/// Results of a spot check.
pub const SPOT_RESULTS: [Term; 2] = [("ok", "未发现问题", "No issues"), ("issues", "发现问题", "Issues found")];

/// Certificate kinds.
pub const CERT_KINDS: [Term; 3] = [
    ("first_aid", "急救证书", "First-aid certificate"),
    ("first_responder", "第一响应人", "First responder"),
    ("licence", "职业资格证书", "Professional licence"),
];

/// Weekly availability slots.
pub const WEEK_SLOTS: [Term; 14] = [
    ("mon_am", "周一上午", "Mon am"),
    ("mon_pm", "周一下午", "Mon pm"),
    ("tue_am", "周二上午", "Tue am"),
    ("tue_pm", "周二下午", "Tue pm"),
    ("wed_am", "周三上午", "Wed am"),
    ("wed_pm", "周三下午", "Wed pm"),
    ("thu_am", "周四上午", "Thu am"),
    ("thu_pm", "周四下午", "Thu pm"),
    ("fri_am", "周五上午", "Fri am"),
    ("fri_pm", "周五下午", "Fri pm"),
    ("sat_am", "周六上午", "Sat am"),
    ("sat_pm", "周六下午", "Sat pm"),
    ("sun_am", "周日上午", "Sun am"),
    ("sun_pm", "周日下午", "Sun pm"),
];

/// Volunteer skills (the demo generator's list).
pub fn skills() -> Vec<Term> {
    tongxin_domain::fake::SKILL_KEYS
        .iter()
        .map(|k| {
            (
                *k,
                tongxin_domain::fake::skill_label_zh(k).unwrap_or(k),
                tongxin_domain::fake::skill_label_en(k).unwrap_or(k),
            )
        })
        .collect()
}

/// The key for a key or label (case-insensitive for English), if known.
pub fn key_of(terms: &[Term], s: &str) -> Option<&'static str> {
    let s = s.trim();
    terms.iter().find(|t| t.0 == s || t.1 == s || t.2.eq_ignore_ascii_case(s)).map(|t| t.0)
}

/// The label of `key` in Chinese or English; the key itself when unknown.
pub fn label(terms: &[Term], key: &str, zh: bool) -> String {
    terms.iter().find(|t| t.0 == key).map(|t| if zh { t.1 } else { t.2 }.to_string()).unwrap_or_else(|| key.to_string())
}

/// Labels of a comma-separated key list, joined with `、` (zh) or `, ` (en).
pub fn labels(terms: &[Term], keys: &str, zh: bool) -> String {
    keys.split(',').filter(|k| !k.is_empty()).map(|k| label(terms, k, zh)).collect::<Vec<_>>().join(if zh {
        "、"
    } else {
        ", "
    })
}

/// Parses a list of keys or labels separated by commas, `、`, `;` or spaces; returns the keys
/// and the items that are not known.
pub fn parse_list(terms: &[Term], s: &str) -> (Vec<&'static str>, Vec<String>) {
    let mut keys = Vec::new();
    let mut bad = Vec::new();
    for item in s.split([',', '，', '、', ';', '；', ' ']).map(str::trim).filter(|x| !x.is_empty()) {
        match key_of(terms, item) {
            Some(k) if !keys.contains(&k) => keys.push(k),
            Some(_) => {}
            None => bad.push(item.to_string()),
        }
    }
    (keys, bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_keys_both_parse() {
        assert_eq!(key_of(&KINDS, "社会团体"), Some("social_group"));
        assert_eq!(key_of(&KINDS, "foundation"), Some("foundation"));
        assert_eq!(key_of(&KINDS, "Foundation"), Some("foundation"));
        let (k, bad) = parse_list(&DOMAINS, "养老助老、children,未知");
        assert_eq!(k, vec!["elderly", "children"]);
        assert_eq!(bad, vec!["未知".to_string()]);
        assert_eq!(labels(&DOMAINS, "elderly,legal", true), "养老助老、法律服务");
    }
}
