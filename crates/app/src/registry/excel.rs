//! Excel rosters: import templates (xlsx, Chinese headers), import of .xlsx and .csv (UTF-8 with
//! or without BOM, or GB18030) with per-row errors, and streamed export to CSV (UTF-8 with BOM)
//! or xlsx with ID and phone columns as text.
//!
//! An import either saves every good row in one transaction and lists the bad ones, or — with
//! `all_or_nothing` — saves nothing when any row is bad. Rows are matched by credit code (orgs)
//! or ID-number blind index (volunteers): a second import of the same file updates, never
//! duplicates.

use super::crypto::PersonalCrypto;
use super::vocab::*;
use super::volunteers::VolForm;
use super::OrgForm;
use crate::{audit, App, AppError, AppResult, RequestCtx};
use calamine::{Data, Reader, Xlsx};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::io::Cursor;
use tongxin_domain::{Actor, FieldError, Role, Text};
use tongxin_store::registry::{self as reg, OrgFilter, VolFilter};
use tongxin_store::{now_ms, StoreError};

/// Most data rows an import accepts.
pub const MAX_ROWS: usize = 100_000;

/// (header, API field, required) of the organisation roster.
pub const ORG_COLUMNS: [(&str, &str, bool); 12] = [
    ("组织名称", "name", true),
    ("统一社会信用代码", "credit_code", true),
    ("组织类型", "kind", true),
    ("所在区划代码", "division_code", true),
    ("联系人", "contact_name", true),
    ("联系电话", "contact_phone", true),
    ("服务领域", "domains", true),
    ("地址", "address", false),
    ("人数", "people_count", false),
    ("救援专业", "specialties", false),
    ("救援等级", "grade", false),
    ("装备", "equipment", false),
];

/// (header, API field, required) of the volunteer roster.
pub const VOL_COLUMNS: [(&str, &str, bool); 9] = [
    ("姓名", "name", true),
    ("身份证号", "id_number", true),
    ("手机号", "phone", true),
    ("所在区划代码", "division_code", true),
    ("技能", "skills", false),
    ("所属组织信用代码", "org_credit_code", false),
    ("是否参保", "insured", false),
    ("每周可服务时段", "weekly", false),
    ("现在可服务", "available_now", false),
];

/// A parsed sheet: header names and data rows with their 1-based row numbers in the file.
#[derive(Debug, Clone)]
pub struct Table {
    /// Header row, trimmed.
    pub headers: Vec<String>,
    /// (row number, cells).
    pub rows: Vec<(usize, Vec<String>)>,
}

fn file_err(zh: impl Into<String>, en: impl Into<String>) -> AppError {
    AppError::Validation(vec![FieldError::new("file", "file.invalid", zh, en)])
}

fn cell_text(d: &Data) -> String {
    match d {
        Data::Empty => String::new(),
        Data::String(s) => s.trim().to_string(),
        Data::Int(i) => i.to_string(),
        // Whole numbers (phones typed as numbers) without a trailing ".0".
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{f:.0}"),
        other => other.to_string().trim().to_string(),
    }
}

/// Reads the first sheet of an xlsx, or a CSV. Refuses empty files, more than [`MAX_ROWS`] rows,
/// formulas and merged cells, and anything that is neither.
pub fn read_table(bytes: &[u8]) -> AppResult<Table> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(file_err("文件为空", "The file is empty"));
    }
    let mut grid: Vec<Vec<String>> = if bytes.starts_with(b"PK\x03\x04") {
        let mut wb: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes)).map_err(|_| {
            file_err(
                "无法读取该 xlsx 文件（文件损坏或不是 Excel 工作簿）",
                "Cannot read this xlsx file (damaged or not an Excel workbook)",
            )
        })?;
        let Some(name) = wb.sheet_names().first().cloned() else {
            return Err(file_err("工作簿中没有工作表", "The workbook has no sheet"));
        };
        let range =
            wb.worksheet_range(&name).map_err(|_| file_err("无法读取第一个工作表", "Cannot read the first sheet"))?;
        if range.height() > MAX_ROWS + 1 {
            return Err(too_many(range.height() - 1));
        }
        if let Ok(f) = wb.worksheet_formula(&name) {
            if f.used_cells().any(|(_, _, s)| !s.is_empty()) {
                return Err(file_err(
                    "文件包含公式，请将公式转为数值后再导入",
                    "The file contains formulas; paste them as values and import again",
                ));
            }
        }
        if wb.merge_cells_by_sheet_name(&name).map(|m| !m.is_empty()).unwrap_or(false) {
            return Err(file_err(
                "文件包含合并单元格，请取消合并后再导入",
                "The file contains merged cells; unmerge them and import again",
            ));
        }
        let (r0, _) = range.start().unwrap_or((0, 0));
        let mut g: Vec<Vec<String>> = range.rows().map(|r| r.iter().map(cell_text).collect()).collect();
        // Keep file row numbers right when the sheet does not start at row 1.
        for _ in 0..r0 {
            g.insert(0, vec![]);
        }
        g
    } else if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        return Err(file_err(
            "不支持旧版 .xls 文件，请另存为 .xlsx 或 CSV",
            "Old .xls files are not supported; save as .xlsx or CSV",
        ));
    } else {
        let text = decode_text(bytes)?;
        let mut rdr = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
        let mut g = vec![];
        for rec in rdr.records() {
            let rec = rec.map_err(|e| file_err(format!("CSV 格式错误：{e}"), format!("Malformed CSV: {e}")))?;
            g.push(rec.iter().map(|s| s.trim().to_string()).collect());
            if g.len() > MAX_ROWS + 1 {
                return Err(too_many(g.len() - 1));
            }
        }
        g
    };
    // The header is the first non-empty row.
    let start = grid
        .iter()
        .position(|r| r.iter().any(|c| !c.is_empty()))
        .ok_or_else(|| file_err("文件为空", "The file is empty"))?;
    let headers: Vec<String> = grid[start].iter().map(|h| clean_header(h)).collect();
    let rows: Vec<(usize, Vec<String>)> = grid
        .drain(start + 1..)
        .enumerate()
        .map(|(i, r)| (start + 2 + i, r))
        .filter(|(_, r)| r.iter().any(|c| !c.is_empty()))
        .collect();
    if rows.is_empty() {
        return Err(file_err("文件只有表头，没有数据行", "The file has a header row but no data rows"));
    }
    Ok(Table { headers, rows })
}

fn too_many(n: usize) -> AppError {
    file_err(
        format!("文件有 {n} 行数据，超过上限 {MAX_ROWS} 行，请拆分后导入"),
        format!("The file has {n} data rows, more than the limit of {MAX_ROWS}; split it"),
    )
}

fn clean_header(h: &str) -> String {
    h.trim()
        .trim_start_matches('\u{feff}')
        .trim_end_matches(['*', '＊'])
        .replace("（必填）", "")
        .replace("(必填)", "")
        .trim()
        .to_string()
}

/// UTF-8 (BOM optional) or GB18030.
pub fn decode_text(bytes: &[u8]) -> AppResult<String> {
    let b = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Ok(s) = std::str::from_utf8(b) {
        return Ok(s.to_string());
    }
    let (s, _, bad) = encoding_rs::GB18030.decode(b);
    if bad {
        return Err(file_err(
            "无法识别文件编码（支持 UTF-8 与 GB18030）",
            "Unknown text encoding (UTF-8 and GB18030 are supported)",
        ));
    }
    Ok(s.into_owned())
}

/// One bad row.
#[derive(Debug, Clone, Serialize)]
pub struct RowError {
    /// Row number in the file (1-based, header included).
    pub row: usize,
    /// Column header.
    pub column: String,
    /// Rule identifier.
    pub rule: String,
    /// Message.
    pub message: Text,
}

/// What an import did (or would do).
#[derive(Debug, Clone, Serialize, Default)]
pub struct ImportReport {
    /// Data rows read.
    pub total: usize,
    /// Rows that would be / were created.
    pub created: usize,
    /// Rows that would be / were updated.
    pub updated: usize,
    /// Bad rows.
    pub errors: Vec<RowError>,
    /// Whether anything was saved.
    pub saved: bool,
}

/// Import options.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImportOptions {
    /// Check only (preview).
    pub dry_run: bool,
    /// Save nothing when any row is bad.
    pub all_or_nothing: bool,
}

/// Column index per API field; errors for missing required headers.
fn map_columns(t: &Table, cols: &[(&str, &str, bool)]) -> AppResult<HashMap<&'static str, usize>>
where
{
    let mut m = HashMap::new();
    let mut missing = vec![];
    for (h, field, req) in cols {
        match t.headers.iter().position(|x| x == h || x == field) {
            Some(i) => {
                m.insert(*field, i);
            }
            None if *req => missing.push(*h),
            None => {}
        }
    }
    if !missing.is_empty() {
        return Err(AppError::Validation(vec![FieldError::new(
            "file",
            "header.missing",
            format!("表头缺少必填列：{}", missing.join("、")),
            format!("The header row lacks required columns: {}", missing.join(", ")),
        )]));
    }
    // Safe: the 'static strs come from the const tables.
    Ok(m.into_iter().map(|(k, v)| (leak_field(cols, k), v)).collect())
}

fn leak_field(cols: &[(&str, &str, bool)], f: &str) -> &'static str {
    ORG_COLUMNS.iter().chain(VOL_COLUMNS.iter()).find(|c| c.1 == f).map(|c| c.1).unwrap_or_else(|| {
        let _ = cols;
        "?"
    })
}

fn get<'a>(m: &HashMap<&'static str, usize>, row: &'a [String], f: &str) -> &'a str {
    m.get(f).and_then(|&i| row.get(i)).map(String::as_str).unwrap_or("")
}

fn header_of(cols: &[(&'static str, &'static str, bool)], field: &str) -> String {
    cols.iter().find(|c| c.1 == field).map(|c| c.0.to_string()).unwrap_or_else(|| field.to_string())
}

fn yes(s: &str) -> bool {
    matches!(s.trim(), "是" | "Y" | "y" | "yes" | "Yes" | "YES" | "1" | "true" | "TRUE" | "已参保" | "√")
}

fn row_errors(row: usize, cols: &[(&'static str, &'static str, bool)], e: AppError) -> Vec<RowError> {
    match e {
        AppError::Validation(fe) => fe
            .into_iter()
            .map(|f| RowError { row, column: header_of(cols, &f.field), rule: f.rule, message: f.message })
            .collect(),
        AppError::Conflict(t) => vec![RowError { row, column: String::new(), rule: "conflict".into(), message: t }],
        other => vec![RowError {
            row,
            column: String::new(),
            rule: "error".into(),
            message: Text::new(other.to_string(), other.to_string()),
        }],
    }
}

fn parse_equipment(s: &str) -> Option<Vec<reg::Equipment>> {
    if s.trim().is_empty() {
        return None;
    }
    // "冲锋舟x2、救生衣x40": name, then x/×/* and a count (1 when absent).
    Some(
        s.split(['、', ',', '，', ';', '；'])
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(|item| match item.rsplit_once(['x', 'X', '×', '*']) {
                Some((n, q)) if q.trim().parse::<i64>().is_ok() => reg::Equipment {
                    name: n.trim().into(),
                    quantity: q.trim().parse().unwrap_or(1),
                    note: String::new(),
                },
                _ => reg::Equipment { name: item.into(), quantity: 1, note: String::new() },
            })
            .collect(),
    )
}

impl App {
    /// Imports an organisation roster (civil-affairs officers and system admins).
    pub async fn import_orgs(
        &self,
        actor: &Actor,
        ctx: &RequestCtx,
        bytes: &[u8],
        opt: ImportOptions,
    ) -> AppResult<ImportReport> {
        if !matches!(actor.role, Role::CivilAffairs | Role::SysAdmin) {
            return Err(AppError::Forbidden);
        }
        let t = read_table(bytes)?;
        let m = map_columns(&t, &ORG_COLUMNS)?;
        let mut rep = ImportReport { total: t.rows.len(), ..Default::default() };
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut good = vec![];
        for (rn, row) in &t.rows {
            let g = |f| get(&m, row, f);
            let people = g("people_count");
            let form = OrgForm {
                name: g("name").into(),
                credit_code: g("credit_code").into(),
                kind: g("kind").into(),
                division_code: g("division_code").into(),
                address: g("address").into(),
                contact_name: g("contact_name").into(),
                contact_phone: g("contact_phone").into(),
                domains: parse_list_raw(g("domains")),
                specialties: parse_list_raw(g("specialties")),
                grade: g("grade").into(),
                people_count: if people.is_empty() { 0 } else { people.parse().unwrap_or(-1) },
                equipment: parse_equipment(g("equipment")),
                ..Default::default()
            };
            let input = match self.org_input(actor, &form).await {
                Ok(i) => i,
                Err(e) => {
                    rep.errors.extend(row_errors(*rn, &ORG_COLUMNS, e));
                    continue;
                }
            };
            if let Some(first) = seen.insert(input.credit_code.clone(), *rn) {
                rep.errors.push(RowError {
                    row: *rn,
                    column: "统一社会信用代码".into(),
                    rule: "credit_code.duplicate_in_file".into(),
                    message: Text::new(
                        format!("与第 {first} 行的信用代码重复"),
                        format!("same credit code as row {first}"),
                    ),
                });
                continue;
            }
            let existing = reg::org_by_credit_code(self.store.reader(), &input.credit_code).await?;
            match &existing {
                Some((id, name, path)) if !actor.covers(path) => {
                    rep.errors.push(RowError {
                        row: *rn,
                        column: "统一社会信用代码".into(),
                        rule: "credit_code.taken".into(),
                        message: Text::new(
                            format!("信用代码已由辖区外的“{name}”（编号 {id}）登记"),
                            format!("credit code already registered by \"{name}\" (id {id}) outside your jurisdiction"),
                        ),
                    });
                    continue;
                }
                Some(_) => rep.updated += 1,
                None => rep.created += 1,
            }
            good.push((existing.map(|e| e.0), input, form.equipment));
        }
        rep.errors.sort_by_key(|e| e.row);
        if opt.dry_run || good.is_empty() || (opt.all_or_nothing && !rep.errors.is_empty()) {
            return Ok(rep);
        }
        let mut tx = self.store.begin().await?;
        let now = now_ms();
        let by = reg::By { user_id: actor.user_id, username: actor.username.clone() };
        for (existing, input, eq) in &good {
            let id = match existing {
                Some(id) => {
                    reg::update_org(&mut tx, *id, input, now).await?;
                    *id
                }
                None => {
                    let id = reg::create_org(&mut tx, input, "filed", now).await?;
                    reg::add_history(&mut tx, id, "", "filed", "导入 / import", &by, now).await?;
                    id
                }
            };
            if let Some(eq) = eq {
                reg::replace_equipment(&mut tx, id, eq).await?;
            }
        }
        tongxin_store::audit::append(
            &mut tx,
            audit::entry(
                Some(actor),
                ctx,
                "import.organizations",
                "organization",
                "*",
                serde_json::json!({ "created": rep.created, "updated": rep.updated, "bad_rows": rep.errors.len() }),
            ),
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        rep.saved = true;
        Ok(rep)
    }

    /// Imports a volunteer roster (officers and community workers within their jurisdiction;
    /// organisation admins into their organisation).
    pub async fn import_volunteers(
        &self,
        actor: &Actor,
        ctx: &RequestCtx,
        bytes: &[u8],
        opt: ImportOptions,
    ) -> AppResult<ImportReport> {
        if !matches!(actor.role, Role::CivilAffairs | Role::CommunityWorker | Role::SysAdmin | Role::OrgAdmin) {
            return Err(AppError::Forbidden);
        }
        let t = read_table(bytes)?;
        let m = map_columns(&t, &VOL_COLUMNS)?;
        let mut rep = ImportReport { total: t.rows.len(), ..Default::default() };
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut orgs: HashMap<String, Option<i64>> = HashMap::new();
        let mut good = vec![];
        for (rn, row) in &t.rows {
            let g = |f| get(&m, row, f);
            let mut errs = vec![];
            if g("id_number").is_empty() {
                errs.push(FieldError::new("id_number", "required", "身份证号不能为空", "ID number is required"));
            }
            let code = g("org_credit_code").trim().to_ascii_uppercase();
            let org_id = if actor.role == Role::OrgAdmin {
                actor.org_id
            } else if code.is_empty() {
                None
            } else {
                if !orgs.contains_key(&code) {
                    let found = match reg::org_by_credit_code(self.store.reader(), &code).await? {
                        Some((id, _, path)) if actor.may_access(&path, Some(id)) => Some(id),
                        _ => None,
                    };
                    orgs.insert(code.clone(), found);
                }
                if orgs[&code].is_none() {
                    errs.push(FieldError::new(
                        "org_credit_code",
                        "org.unknown",
                        format!("信用代码为 {code} 的组织不存在或不在您的辖区内"),
                        format!("No organisation with credit code {code} in your jurisdiction"),
                    ));
                }
                orgs[&code]
            };
            let form = VolForm {
                name: g("name").into(),
                id_number: g("id_number").into(),
                phone: g("phone").into(),
                division_code: g("division_code").into(),
                skills: parse_list_raw(g("skills")),
                insured: yes(g("insured")),
                weekly: parse_list_raw(g("weekly")),
                available_now: yes(g("available_now")),
                org_id,
                ..Default::default()
            };
            let row_v = match self.vol_input(actor, &form, None).await {
                Ok(v) if errs.is_empty() => v,
                Ok(_) => {
                    rep.errors.extend(row_errors(*rn, &VOL_COLUMNS, AppError::Validation(errs)));
                    continue;
                }
                Err(AppError::Validation(mut fe)) => {
                    errs.append(&mut fe);
                    rep.errors.extend(row_errors(*rn, &VOL_COLUMNS, AppError::Validation(errs)));
                    continue;
                }
                Err(e) => return Err(e),
            };
            if let Some(first) = seen.insert(row_v.id_hash.clone(), *rn) {
                rep.errors.push(RowError {
                    row: *rn,
                    column: "身份证号".into(),
                    rule: "id_number.duplicate_in_file".into(),
                    message: Text::new(
                        format!("与第 {first} 行的身份证号重复"),
                        format!("same ID number as row {first}"),
                    ),
                });
                continue;
            }
            let mut tx = self.store.begin().await?;
            let existing = reg::volunteer_by_id_hash(&mut tx, &row_v.id_hash).await?;
            drop(tx);
            match &existing {
                Some((id, _)) if !reg::volunteer_visible(self.store.reader(), actor, *id).await? => {
                    rep.errors.push(RowError {
                        row: *rn,
                        column: "身份证号".into(),
                        rule: "id_number.taken".into(),
                        message: Text::new(
                            "该身份证号已在辖区外登记为志愿者",
                            "This ID number is registered outside your scope",
                        ),
                    });
                    continue;
                }
                Some(_) => rep.updated += 1,
                None => rep.created += 1,
            }
            good.push((existing.map(|e| e.0), row_v));
        }
        rep.errors.sort_by_key(|e| e.row);
        if opt.dry_run || good.is_empty() || (opt.all_or_nothing && !rep.errors.is_empty()) {
            return Ok(rep);
        }
        let mut tx = self.store.begin().await?;
        let now = now_ms();
        let mut members: HashSet<(i64, i64)> = HashSet::new();
        for (existing, v) in &good {
            let id = match existing {
                Some(id) => {
                    reg::update_volunteer(&mut tx, *id, v, now).await?;
                    *id
                }
                None => reg::create_volunteer(&mut tx, v, now).await?,
            };
            if let Some(org) = v.org_id {
                members.insert((id, org));
            }
        }
        for (vid, org) in members {
            match reg::add_membership(&mut tx, vid, org, 0, "approved", "导入 / import", now).await {
                Ok(_) | Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        tongxin_store::audit::append(
            &mut tx,
            audit::entry(
                Some(actor),
                ctx,
                "import.volunteers",
                "volunteer",
                "*",
                serde_json::json!({ "created": rep.created, "updated": rep.updated, "bad_rows": rep.errors.len() }),
            ),
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        rep.saved = true;
        Ok(rep)
    }
}

fn parse_list_raw(s: &str) -> Vec<String> {
    s.split([',', '，', '、', ';', '；']).map(str::trim).filter(|x| !x.is_empty()).map(String::from).collect()
}

// ---------------------------------------------------------------------------------------------
// Templates and export
// ---------------------------------------------------------------------------------------------

fn xlsx_err(e: rust_xlsxwriter::XlsxError) -> AppError {
    AppError::Internal(format!("xlsx: {e}"))
}

/// An import template: Chinese headers (required ones marked *), one example row, every column
/// formatted as text so ID numbers and phones keep their digits.
pub fn template(volunteers: bool) -> AppResult<Vec<u8>> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut wb = Workbook::new();
    let text = Format::new().set_num_format("@");
    let bold = Format::new().set_bold().set_num_format("@");
    let ws = wb.add_worksheet();
    ws.set_name(if volunteers { "志愿者" } else { "社会组织" }).map_err(xlsx_err)?;
    let cols: &[(&str, &str, bool)] = if volunteers { &VOL_COLUMNS } else { &ORG_COLUMNS };
    let example: &[&str] = if volunteers {
        &[
            "张三",
            "11010519491231002X",
            "13812341234",
            "320508018001",
            "急救、驾驶",
            "",
            "是",
            "周六上午、周日上午",
            "否",
        ]
    } else {
        &[
            "苏州市姑苏区示例助老服务中心",
            "52320508MJ0000000X",
            "社会服务机构",
            "320508018000",
            "李四",
            "13812341234",
            "养老助老、心理服务",
            "姑苏区平江路1号",
            "20",
            "",
            "",
            "轮椅x5",
        ]
    };
    for (i, (h, _, req)) in cols.iter().enumerate() {
        let c = i as u16;
        ws.set_column_format(c, &text).map_err(xlsx_err)?;
        ws.set_column_width(c, 18).map_err(xlsx_err)?;
        ws.write_string_with_format(0, c, if *req { format!("{h}*") } else { h.to_string() }, &bold)
            .map_err(xlsx_err)?;
        ws.write_string_with_format(1, c, example.get(i).copied().unwrap_or(""), &text).map_err(xlsx_err)?;
    }
    let help = wb.add_worksheet();
    help.set_name("填写说明").map_err(xlsx_err)?;
    let lines: Vec<String> = if volunteers {
        vec![
            "带 * 的列必填；第 2 行为示例，导入前请删除。".into(),
            "身份证号须为 18 位（GB 11643，末位可为 X）；手机号 11 位；单元格格式保持“文本”。".into(),
            format!("技能可填：{}", skills().iter().map(|s| s.1).collect::<Vec<_>>().join("、")),
            format!("每周可服务时段：{}", WEEK_SLOTS.map(|s| s.1).join("、")),
            "是否参保 / 现在可服务：填“是”或“否”。所属组织信用代码须为已登记组织。".into(),
        ]
    } else {
        vec![
            "带 * 的列必填；第 2 行为示例，导入前请删除。".into(),
            "统一社会信用代码 18 位（GB 32100），校验位会被检查；同一代码再次导入将更新原记录。".into(),
            format!("组织类型：{}", KINDS.map(|k| k.1).join("、")),
            format!("服务领域：{}", DOMAINS.map(|k| k.1).join("、")),
            format!("救援专业（仅社会救援队伍）：{}；救援等级：一级、二级、三级", SPECIALTIES.map(|k| k.1).join("、")),
            "装备：名称x数量，用顿号分隔，例如“冲锋舟x2、救生衣x40”。".into(),
        ]
    };
    help.set_column_width(0, 100).map_err(xlsx_err)?;
    for (i, l) in lines.iter().enumerate() {
        help.write_string(i as u32, 0, l).map_err(xlsx_err)?;
    }
    wb.save_to_buffer().map_err(xlsx_err)
}

/// Export file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// CSV, UTF-8 with BOM (Excel opens it correctly).
    Csv,
    /// Excel workbook.
    Xlsx,
}

/// What to export.
#[derive(Debug, Clone)]
pub enum ExportList {
    /// Organisations matching a filter.
    Orgs(OrgFilter),
    /// Volunteers matching a filter.
    Volunteers(VolFilter),
}

/// A chunk of an export stream, or the error that ended it.
pub type ExportChunk = Result<Vec<u8>, String>;

fn csv_line(cells: &[String]) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new().from_writer(vec![]);
    // Writing to a Vec cannot fail.
    let _ = w.write_record(cells);
    w.into_inner().unwrap_or_default()
}

impl App {
    /// Starts an export of every row of a filtered list (no page limit). Personal data stays
    /// masked unless `unmask`, which needs a role that may unmask and is audited. Rows are read
    /// page by page (volunteers in registration order) and sent as chunks: CSV streams as it
    /// goes; xlsx is assembled with constant memory per row and sent when complete.
    pub async fn export(
        &self,
        actor: &Actor,
        ctx: &RequestCtx,
        list: ExportList,
        fmt: ExportFormat,
        unmask: bool,
    ) -> AppResult<tokio::sync::mpsc::Receiver<ExportChunk>> {
        if unmask && !actor.role.may_unmask() {
            return Err(AppError::Forbidden);
        }
        if matches!(actor.role, Role::Volunteer | Role::Resident) {
            return Err(AppError::Forbidden);
        }
        {
            let mut tx = self.store.begin().await?;
            let what = if matches!(list, ExportList::Orgs(_)) { "organizations" } else { "volunteers" };
            tongxin_store::audit::append(
                &mut tx,
                audit::entry(
                    Some(actor),
                    ctx,
                    if unmask { "export.unmasked" } else { "export" },
                    what,
                    "*",
                    serde_json::json!({ "format": format!("{fmt:?}"), "unmasked": unmask }),
                ),
            )
            .await?;
            tx.commit().await.map_err(StoreError::from)?;
        }
        let (tx, rx) = tokio::sync::mpsc::channel::<ExportChunk>(8);
        let app = self.clone();
        let actor = actor.clone();
        tokio::spawn(async move {
            if let Err(e) = app.run_export(&actor, list, fmt, unmask, &tx).await {
                tracing::error!(error = %e, "export failed");
                let _ = tx.send(Err(e.to_string())).await;
            }
        });
        Ok(rx)
    }

    async fn run_export(
        &self,
        actor: &Actor,
        list: ExportList,
        fmt: ExportFormat,
        unmask: bool,
        out: &tokio::sync::mpsc::Sender<ExportChunk>,
    ) -> AppResult<()> {
        let headers: Vec<&'static str> = match &list {
            ExportList::Orgs(_) => ORG_EXPORT_HEADERS.to_vec(),
            ExportList::Volunteers(_) => VOL_EXPORT_HEADERS.to_vec(),
        };
        // Reading pages (I/O) and formatting rows (decryption, CSV/xlsx: CPU) overlap: pages go
        // to a blocking writer thread, which formats each page on every core.
        let (page_tx, page_rx) = tokio::sync::mpsc::channel::<Batch>(2);
        let writer = {
            let crypto = self.crypto.clone();
            let out = out.clone();
            tokio::task::spawn_blocking(move || write_export(&crypto, fmt, unmask, &headers, page_rx, &out))
        };
        let read = async {
            match list {
                ExportList::Orgs(mut f) => {
                    f.limit = EXPORT_PAGE;
                    loop {
                        let p = reg::list_orgs(self.store.reader(), actor, &f).await?;
                        let next = p.next_cursor;
                        if page_tx.send(Batch::Orgs(p.items)).await.is_err() {
                            break;
                        }
                        let Some(c) = next else { break };
                        f.cursor = tongxin_domain::page::Cursor::decode(&c);
                    }
                }
                ExportList::Volunteers(mut f) => {
                    f.limit = EXPORT_PAGE;
                    // Registration order: the table is read front to back (no index-to-row jumps).
                    (f.sort, f.order, f.cursor) = (Some("id".into()), tongxin_domain::page::Order::Asc, None);
                    loop {
                        let p = reg::list_volunteers(self.store.reader(), actor, &f).await?;
                        let next = p.next_cursor;
                        if page_tx.send(Batch::Vols(p.items)).await.is_err() {
                            break;
                        }
                        let Some(c) = next else { break };
                        f.cursor = tongxin_domain::page::Cursor::decode(&c);
                    }
                }
            }
            AppResult::Ok(())
        };
        let read_result = read.await;
        drop(page_tx);
        let write_result = writer.await.map_err(|e| AppError::Internal(e.to_string()))?;
        read_result?;
        write_result
    }
}

/// Rows per page read for an export.
const EXPORT_PAGE: u32 = 10_000;

const ORG_EXPORT_HEADERS: [&str; 15] = [
    "组织名称",
    "统一社会信用代码",
    "组织类型",
    "所在区划代码",
    "所在区划",
    "状态",
    "联系人",
    "联系电话",
    "服务领域",
    "救援专业",
    "救援等级",
    "人数",
    "最近年检年度",
    "评估等级",
    "保险有效期至",
];

const VOL_EXPORT_HEADERS: [&str; 12] = [
    "姓名",
    "身份证号",
    "手机号",
    "年龄",
    "所在区划代码",
    "所在区划",
    "技能",
    "有效证书",
    "是否参保",
    "现在可服务",
    "所属组织",
    "实名",
];

/// One page of an export on its way to the writer.
enum Batch {
    Orgs(Vec<reg::OrgListItem>),
    Vols(Vec<reg::VolRow>),
}

fn yes_no(b: bool) -> String {
    if b { "是" } else { "否" }.into()
}

fn org_cells(c: &PersonalCrypto, o: &reg::OrgListItem, unmask: bool) -> Vec<String> {
    let phone = c.decrypt(&o.contact_phone_enc).unwrap_or_default();
    vec![
        o.name.clone(),
        o.credit_code.clone(),
        label(&KINDS, &o.kind, true),
        o.division_code.clone(),
        o.division_name.clone(),
        label(&STATES, &o.state, true),
        o.contact_name.clone(),
        if unmask { phone } else { tongxin_domain::codes::mask_phone(&phone) },
        labels(&DOMAINS, &o.domains, true),
        labels(&SPECIALTIES, &o.specialties, true),
        label(&GRADES, &o.grade, true),
        o.people_count.to_string(),
        if o.last_inspection_year > 0 { o.last_inspection_year.to_string() } else { String::new() },
        o.eval_grade.clone(),
        o.insured_until.clone(),
    ]
}

fn vol_cells(c: &PersonalCrypto, sk: &[Term], year: i64, r: &reg::VolRow, unmask: bool) -> Vec<String> {
    let id = if r.id_enc.is_empty() { String::new() } else { c.decrypt(&r.id_enc).unwrap_or_default() };
    let phone = c.decrypt(&r.phone_enc).unwrap_or_default();
    vec![
        r.name.clone(),
        if unmask || id.is_empty() { id } else { tongxin_domain::codes::mask_id(&id) },
        if unmask { phone } else { tongxin_domain::codes::mask_phone(&phone) },
        if r.birth_year > 0 { (year - r.birth_year).to_string() } else { String::new() },
        r.division_code.clone(),
        r.division_name.clone(),
        labels(sk, &r.skills, true),
        labels(&CERT_KINDS, &r.cert_kinds, true),
        yes_no(r.insured),
        yes_no(r.available_now),
        r.org_name.clone().unwrap_or_default(),
        yes_no(r.real_name),
    ]
}

/// Formats a page's rows on every core (decryption dominates), keeping their order.
fn page_cells(c: &PersonalCrypto, b: &Batch, unmask: bool) -> Vec<Vec<String>> {
    let n = match b {
        Batch::Orgs(v) => v.len(),
        Batch::Vols(v) => v.len(),
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
    let per = n.div_ceil(threads).max(1);
    let sk = skills();
    let year = super::current_year();
    std::thread::scope(|s| {
        let parts: Vec<_> = (0..n)
            .step_by(per)
            .map(|from| {
                let to = (from + per).min(n);
                let sk = &sk;
                s.spawn(move || match b {
                    Batch::Orgs(v) => v[from..to].iter().map(|o| org_cells(c, o, unmask)).collect::<Vec<_>>(),
                    Batch::Vols(v) => v[from..to].iter().map(|r| vol_cells(c, sk, year, r, unmask)).collect(),
                })
            })
            .collect();
        parts.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
    })
}

/// The writer thread of an export: CSV pages are sent as they are formatted; the xlsx sheet is
/// written row by row (constant memory) and sent when complete.
fn write_export(
    c: &PersonalCrypto,
    fmt: ExportFormat,
    unmask: bool,
    headers: &[&str],
    mut pages: tokio::sync::mpsc::Receiver<Batch>,
    out: &tokio::sync::mpsc::Sender<ExportChunk>,
) -> AppResult<()> {
    let mut wb = None;
    if fmt == ExportFormat::Xlsx {
        let mut w = rust_xlsxwriter::Workbook::new();
        // Fastest deflate: a city-wide roster is ~100 MB of sheet XML; level 1 zips it several
        // times faster than the default 6 for a slightly larger file.
        w.set_zip_compression_level(1);
        let ws = w.add_worksheet_with_constant_memory().map_err(xlsx_err)?;
        let bold = rust_xlsxwriter::Format::new().set_bold();
        for (col, h) in headers.iter().enumerate() {
            ws.write_string_with_format(0, col as u16, *h, &bold).map_err(xlsx_err)?;
        }
        wb = Some(w);
    } else {
        let mut first = b"\xEF\xBB\xBF".to_vec();
        first.extend(csv_line(&headers.iter().map(|h| h.to_string()).collect::<Vec<_>>()));
        if out.blocking_send(Ok(first)).is_err() {
            return Ok(());
        }
    }
    let mut row_no: u32 = 1;
    while let Some(page) = pages.blocking_recv() {
        let rows = page_cells(c, &page, unmask);
        match wb.as_mut() {
            Some(w) => {
                let ws = w.worksheet_from_index(0).map_err(xlsx_err)?;
                for r in &rows {
                    for (col, cell) in r.iter().enumerate() {
                        // Every cell is a string: ID numbers and phones stay text.
                        ws.write_string(row_no, col as u16, cell).map_err(xlsx_err)?;
                    }
                    row_no += 1;
                }
            }
            None => {
                let mut w = csv::WriterBuilder::new().from_writer(Vec::with_capacity(rows.len() * 120));
                for r in &rows {
                    w.write_record(r).map_err(|e| AppError::Internal(e.to_string()))?;
                }
                let buf = w.into_inner().map_err(|e| AppError::Internal(e.to_string()))?;
                if out.blocking_send(Ok(buf)).is_err() {
                    return Ok(()); // the client went away
                }
            }
        }
    }
    if let Some(mut w) = wb {
        let bytes = w.save_to_buffer().map_err(xlsx_err)?;
        for chunk in bytes.chunks(1 << 20) {
            if out.blocking_send(Ok(chunk.to_vec())).is_err() {
                break;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_in_gb18030_and_bom_utf8_read_alike() {
        let text = "组织名称,统一社会信用代码\n示例,ABC\n";
        let (gb, _, _) = encoding_rs::GB18030.encode(text);
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend_from_slice(text.as_bytes());
        for bytes in [gb.to_vec(), bom, text.as_bytes().to_vec()] {
            let t = read_table(&bytes).unwrap();
            assert_eq!(t.headers, vec!["组织名称", "统一社会信用代码"]);
            assert_eq!(t.rows, vec![(2, vec!["示例".to_string(), "ABC".to_string()])]);
        }
    }

    #[test]
    fn bad_files_are_refused_with_reasons() {
        let e = |b: &[u8]| match read_table(b) {
            Err(AppError::Validation(f)) => f[0].message.zh.clone(),
            other => panic!("{other:?}"),
        };
        assert!(e(b"").contains("为空"));
        assert!(e(b"PK\x03\x04garbage").contains("xlsx"));
        assert!(e("姓名\n".as_bytes()).contains("没有数据行"));
        let mut big = String::from("a\n");
        for _ in 0..=MAX_ROWS {
            big.push_str("1\n");
        }
        assert!(e(big.as_bytes()).contains("超过上限"));
    }

    #[test]
    fn template_reads_back_with_required_headers() {
        let t = read_table(&template(true).unwrap()).unwrap();
        for (h, _, req) in VOL_COLUMNS {
            assert!(!req || t.headers.contains(&h.to_string()), "{h}");
        }
        assert_eq!(t.rows[0].1[1], "11010519491231002X", "ID stays text");
    }
}
