//! The capabilities A–P of the product brief, for navigation. Those not built yet lead to a
//! page that says so plainly.

use crate::i18n::Tr;
use tongxin_domain::Role;

/// A capability in the navigation.
#[derive(Debug, Clone)]
pub struct CapLink {
    /// Letter A–P.
    pub letter: char,
    /// Name in the page language.
    pub name: &'static str,
    /// One-line description in the page language.
    pub desc: &'static str,
    /// Where it leads.
    pub href: String,
    /// Whether any of it is built.
    pub built: bool,
}

/// One capability's static description.
struct CapDef(char, &'static str, &'static str, &'static str, &'static str, Option<&'static str>);

/// (letter, zh name, en name, zh description, en description, built page)
const CAPS: [CapDef; 16] = [
    CapDef('A', "社会力量报备", "Registry of social forces", "社会组织、救援队伍、志愿者报备登记，审核、年检、评估、抽查与培训，Excel 名册导入导出。", "Filing of organisations, rescue teams and volunteers; verification, inspections, evaluations, spot checks and training; Excel rosters.", Some("/orgs")),
    CapDef('B', "突发事件与指挥", "Incidents and command", "事件上报与合并、分类分级、响应级别、时间线与情况报告。", "Incident reports and merging, categories and grades, response levels, timelines and sitreps.", Some("/incidents")),
    CapDef('C', "分级社会动员", "Graded mobilisation", "按事件类别和级别的动员预案，提升响应级别自动动员。", "Mobilisation plans by category and level; raising a level mobilises automatically.", Some("/mobilisation")),
    CapDef('D', "任务分配与行动", "Tasks and dispatch", "按技能、保险、距离推荐与派发任务，签到签退计入服务时长，1-3-5-10 时效。", "Tasks matched by skill, insurance and distance; check-in/out as service hours; 1-3-5-10 timing.", Some("/my/tasks")),
    CapDef('E', "居民需求工单", "Residents' requests", "网上申请、线下解决：需求工单的受理、派单、处置、回访与督办。", "Online application, offline resolution: work orders with deadlines, return visits and escalation.", Some("/workorders")),
    CapDef('F', "资源共享与后勤", "Resources and logistics", "物资储备、调配与捐赠台账，公开可核验。", "Reserves, allocation and a verifiable public donations ledger.", None),
    CapDef('G', "信息互通与预警", "Alerts and information", "四色预警按区域发布（CAP 1.2），公众信息与多渠道通知。", "Four-colour warnings by area as CAP 1.2, public feed and notifications.", Some("/alerts")),
    CapDef('H', "网格与基础数据", "Grids and base data", "网格、楼栋、住户与重点人群，一口采集、多方复用。", "Grids, buildings, households and vulnerable residents, collected once.", Some("/grids")),
    CapDef('I', "风险防范与准备", "Prevention and preparedness", "隐患台账闭环整改、应急预案、演练培训、避难场所。", "Hazard ledger, plans, drills and shelters.", None),
    CapDef('J', "监督问责", "Supervision and accountability", "投诉举报、公开问责数据、物资价格监测。", "Complaints, public accountability figures, price monitoring.", Some("/public/accountability")),
    CapDef('K', "权益保障与激励", "Protection and incentives", "保险核验、补偿申领、服务时长证明与表彰。", "Insurance checks, compensation claims, service records and commendations.", None),
    CapDef('L', "政府购买服务", "Procurement of services", "应急服务目录、项目与评估、公益创投。", "Service catalogue, projects and evaluations, venture funding.", None),
    CapDef('M', "善后恢复", "Recovery", "损失统计、救助发放与复盘。", "Loss statistics, relief distribution and after-action reviews.", None),
    CapDef('N', "社区应急能力", "Community readiness", "街道社区“六有”评估与排名。", "Six-haves scoring of streets and communities.", None),
    CapDef('O', "社会化报送与奖励", "Public reporting and rewards", "公众上报隐患与事件，核实后积分奖励；监测数据接入。", "Public hazard and incident reports with rewards; sensor feeds.", None),
    CapDef('P', "一图感知 一屏研判", "One map, one screen", "事件、任务、力量、资源的地图与指挥大屏。", "Map and command dashboard.", None),
];

/// All capabilities in the page language.
pub fn all(t: &Tr) -> Vec<CapLink> {
    CAPS.iter()
        .map(|c| CapLink {
            letter: c.0,
            name: t.pick(c.1, c.2),
            desc: t.pick(c.3, c.4),
            href: c.5.map(String::from).unwrap_or_else(|| format!("/c/{}", c.0.to_ascii_lowercase())),
            built: c.5.is_some(),
        })
        .collect()
}

/// One capability by letter.
pub fn by_letter(t: &Tr, letter: char) -> Option<CapLink> {
    all(t).into_iter().find(|c| c.letter == letter.to_ascii_uppercase())
}

/// The capabilities a role starts from on its home page.
pub fn for_role(role: Role) -> &'static [char] {
    match role {
        Role::Commander => &['B', 'C', 'D', 'P', 'G'],
        Role::CivilAffairs => &['A', 'K', 'L', 'N'],
        Role::CommunityWorker => &['E', 'H', 'I', 'B'],
        Role::GridWorker => &['H', 'E', 'O'],
        Role::OrgAdmin => &['A', 'D', 'F', 'K'],
        Role::Volunteer => &['D', 'K'],
        Role::Resident => &['E', 'G', 'J', 'O'],
        Role::Supervisor => &['J', 'F'],
        Role::SysAdmin => &['A', 'H', 'N'],
    }
}
