//! User-interface strings in Chinese (first) and English, looked up by key from templates.

use tongxin_domain::Lang;

/// Translator for one request's language; templates call `t.s("key")`.
#[derive(Debug, Clone, Copy)]
pub struct Tr {
    /// The language.
    pub lang: Lang,
}

impl Tr {
    /// The string for `key`; the key itself if unknown (a test checks every template key exists).
    pub fn s(&self, key: &str) -> &'static str {
        match lookup(key) {
            Some((zh, en)) => match self.lang {
                Lang::Zh => zh,
                Lang::En => en,
            },
            None => "??",
        }
    }

    /// Whether the language is Chinese.
    pub fn zh(&self) -> bool {
        self.lang == Lang::Zh
    }

    /// `lang` attribute of the page.
    pub fn tag(&self) -> &'static str {
        self.lang.tag()
    }

    /// Picks between two texts.
    pub fn pick<'a>(&self, zh: &'a str, en: &'a str) -> &'a str {
        if self.zh() {
            zh
        } else {
            en
        }
    }
}

/// (zh, en) for a key.
pub fn lookup(key: &str) -> Option<(&'static str, &'static str)> {
    Some(match key {
        "app.name" => ("同心 · 应急协同平台", "Tongxin · Emergency Cooperation"),
        "app.tagline" => ("政府与社会力量同心协力，平时共建、急时共战", "Government and social forces, prepared together and acting as one"),
        "nav.home" => ("首页", "Home"),
        "nav.divisions" => ("行政区划", "Divisions"),
        "nav.account" => ("我的账号", "My account"),
        "nav.audit" => ("审计日志", "Audit trail"),
        "nav.api" => ("接口文档", "API explorer"),
        "nav.logout" => ("退出登录", "Log out"),
        "nav.menu" => ("功能", "Capabilities"),
        "lang.switch" => ("English", "中文"),
        "login.title" => ("登录", "Log in"),
        "login.username" => ("用户名", "Username"),
        "login.password" => ("密码", "Password"),
        "login.submit" => ("登录", "Log in"),
        "login.failed" => ("用户名或密码错误", "Wrong username or password"),
        "login.locked" => ("尝试次数过多，请稍后再试", "Too many attempts; try again later"),
        "login.demo" => ("演示账号密码均为 Tongxin2026", "Every demo account's password is Tongxin2026"),
        "home.welcome" => ("欢迎", "Welcome"),
        "home.role" => ("角色", "Role"),
        "home.jurisdiction" => ("辖区", "Jurisdiction"),
        "home.org" => ("所属组织", "Organisation"),
        "home.none" => ("无", "none"),
        "home.in_scope" => ("您权限范围内的数据", "Data within your scope"),
        "home.orgs" => ("社会组织", "Organisations"),
        "home.volunteers" => ("志愿者", "Volunteers"),
        "home.households" => ("住户", "Households"),
        "home.grids" => ("网格", "Grids"),
        "home.tasks_for_you" => ("常用功能", "For your role"),
        "cap.not_built" => ("本功能尚未建成。", "This capability is not built yet."),
        "cap.not_built_detail" => (
            "此页面不显示任何虚构数据。建成后将在这里提供下述功能：",
            "This page shows no made-up data. Once built, it will offer the following here:",
        ),
        "cap.back" => ("返回首页", "Back to home"),
        "div.title" => ("行政区划与网格", "Divisions and grids"),
        "div.search" => ("搜索区划名称", "Search division names"),
        "div.code" => ("代码", "Code"),
        "div.name" => ("名称", "Name"),
        "div.level" => ("层级", "Level"),
        "div.children" => ("下级", "Children"),
        "div.expand" => ("展开", "Expand"),
        "div.none" => ("无结果", "No results"),
        "orgs.title" => ("社会组织名录", "Registry of organisations"),
        "orgs.q" => ("名称包含", "Name contains"),
        "orgs.kind" => ("类型", "Kind"),
        "orgs.state" => ("状态", "State"),
        "orgs.any" => ("全部", "Any"),
        "orgs.filter" => ("筛选", "Filter"),
        "orgs.credit_code" => ("统一社会信用代码", "Credit code"),
        "orgs.division" => ("所在区划", "Division"),
        "orgs.people" => ("人数", "People"),
        "orgs.next" => ("下一页", "Next page"),
        "orgs.partial" => (
            "报备、审核、年检、志愿者与 Excel 导入导出将随“社会力量名录”功能建成；目前仅提供按辖区的名录浏览。",
            "Filing, verification, inspections, volunteers and Excel import/export come with the registry capability; for now only the scoped list is here.",
        ),
        "account.title" => ("我的账号", "My account"),
        "account.change_password" => ("修改密码", "Change password"),
        "account.current" => ("当前密码", "Current password"),
        "account.new" => ("新密码", "New password"),
        "account.save" => ("保存", "Save"),
        "account.changed" => ("密码已修改，请重新登录。", "Password changed; please log in again."),
        "account.logout_all" => ("退出所有设备", "Log out everywhere"),
        "account.tokens" => ("接口令牌", "API tokens"),
        "account.token_name" => ("令牌名称", "Token name"),
        "account.token_create" => ("生成令牌", "Create token"),
        "account.token_once" => ("请立即复制，此令牌只显示一次：", "Copy it now; this token is shown only once:"),
        "audit.title" => ("审计日志（最近 200 条）", "Audit trail (latest 200)"),
        "audit.seq" => ("序号", "Seq"),
        "audit.at" => ("时间", "Time"),
        "audit.who" => ("操作人", "Who"),
        "audit.action" => ("操作", "Action"),
        "audit.object" => ("对象", "Object"),
        "audit.verify" => ("哈希链校验", "Hash-chain check"),
        "audit.intact" => ("完整", "intact"),
        "audit.broken" => ("已损坏", "BROKEN"),
        "err.title" => ("出错了", "Something went wrong"),
        "err.forbidden" => ("您无权访问此内容", "You may not access this"),
        "err.not_found" => ("未找到", "Not found"),
        "footer.osm" => ("区划边界数据 © OpenStreetMap 贡献者（ODbL 1.0）", "Boundary data © OpenStreetMap contributors (ODbL 1.0)"),
        _ => return None,
    })
}
