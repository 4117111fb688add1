//! Deterministic, realistic demo data for Suzhou (苏州): people, phones, ID numbers, organisations,
//! addresses, locations and volunteer skills.
//!
//! [`Faker::new`] takes a seed; the same seed gives the same sequence of values on every run and
//! every platform (ChaCha8 inside, integer sampling, no platform maths functions), so demo cities,
//! screenshots and tests are reproducible. Nothing here reads the clock: pass "today" in.
//!
//! Locations come from hand-chosen population clusters (town and city centres) well inside each
//! district; no boundary data is embedded.

use std::collections::{HashMap, HashSet};
use std::ops::RangeInclusive;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use time::{Date, Duration, Month};

use crate::codes::{self, Authority, Sex};

// ---------------------------------------------------------------------------------------------
// Tables
// ---------------------------------------------------------------------------------------------

/// Surnames with weights per 10,000 people: national frequencies, adjusted for Suzhou, where
/// Jiangnan surnames (顾 陆 沈 钱, also 吴 徐 周 朱 金 蒋) are far more common and southern or
/// western ones (覃 韦 黎 廖 龙 向) rarer than nationally.
#[rustfmt::skip]
const SURNAMES: &[(&str, u32)] = &[
    ("王", 620), ("李", 420), ("张", 560), ("刘", 300), ("陈", 480), ("杨", 240), ("黄", 190), ("赵", 160),
    ("吴", 380), ("周", 330), ("徐", 350), ("孙", 200), ("马", 70), ("朱", 280), ("胡", 120), ("郭", 60),
    ("何", 80), ("高", 90), ("林", 80), ("罗", 40), ("郑", 90), ("梁", 35), ("谢", 70), ("宋", 60),
    ("唐", 80), ("许", 110), ("韩", 40), ("冯", 70), ("邓", 30), ("曹", 80), ("彭", 50), ("曾", 20),
    ("萧", 12), ("田", 30), ("董", 50), ("潘", 90), ("袁", 60), ("蔡", 70), ("蒋", 120), ("余", 30),
    ("于", 30), ("杜", 40), ("叶", 90), ("程", 50), ("魏", 40), ("苏", 40), ("吕", 40), ("丁", 60),
    ("任", 30), ("沈", 300), ("姚", 100), ("卢", 40), ("姜", 40), ("崔", 20), ("钟", 30), ("谭", 20),
    ("陆", 260), ("汪", 60), ("范", 70), ("金", 130), ("石", 40), ("廖", 8), ("贾", 20), ("夏", 60),
    ("韦", 5), ("傅", 30), ("方", 50), ("邹", 40), ("孟", 20), ("熊", 15), ("秦", 40), ("邱", 30),
    ("江", 40), ("尹", 15), ("薛", 40), ("闫", 8), ("段", 10), ("雷", 10), ("侯", 15), ("龙", 5),
    ("史", 30), ("陶", 50), ("黎", 4), ("贺", 15), ("顾", 280), ("毛", 40), ("郝", 10), ("龚", 50),
    ("邵", 50), ("万", 20), ("钱", 200), ("严", 60), ("覃", 2), ("武", 15), ("戴", 60), ("莫", 20),
    ("孔", 20), ("向", 5), ("汤", 60),
];

/// Given-name characters that lean male.
const GIVEN_MALE: &[&str] = &[
    "伟", "强", "磊", "军", "洋", "勇", "杰", "涛", "斌", "超", "明", "刚", "平", "辉", "鹏", "华", "飞", "鑫", "波",
    "宇", "浩", "凯", "健", "俊", "帆", "帅", "旭", "宁", "龙", "林", "峰", "建", "国", "志", "亮", "晨", "阳", "博",
    "昊", "然", "轩", "睿", "泽", "宏", "兵", "海", "东", "成", "荣", "江", "庆", "德", "新", "正", "振", "锋", "毅",
    "诚", "晖", "铭", "瑞", "皓", "骏", "翔", "彬", "栋", "坤", "良", "忠", "嘉", "逸", "哲", "煜", "宸", "杭", "源",
    "晟", "恒", "昕",
];

/// Given-name characters that lean female.
const GIVEN_FEMALE: &[&str] = &[
    "芳", "娜", "敏", "静", "丽", "艳", "娟", "霞", "燕", "玲", "婷", "雪", "慧", "颖", "琳", "倩", "洁", "欣", "怡",
    "佳", "梅", "莉", "红", "萍", "秀", "英", "兰", "凤", "玉", "琴", "云", "蕾", "薇", "悦", "彤", "萱", "涵", "晴",
    "诗", "雨", "思", "梦", "雅", "婉", "若", "珍", "蓉", "素", "菲", "瑶", "琪", "妍", "露", "月", "茜", "璐", "丹",
    "钰", "馨", "嘉", "楠", "岚", "婕", "妮",
];

/// First characters of two-character given names used for either sex.
const GIVEN_LEAD: &[&str] = &[
    "晓", "子", "思", "一", "文", "佳", "嘉", "雨", "欣", "志", "建", "国", "海", "永", "金", "小", "春", "秋", "明",
    "家", "梓", "亦", "可", "天", "世", "立", "正", "玉", "宇", "逸", "心", "安", "乐", "书", "沐", "若", "清", "晨",
    "少", "新",
];

/// Probability (per mille) that a given name has one character; Suzhou names of people born
/// since the 1960s are mostly two-character given names.
const SINGLE_GIVEN_PER_MILLE: u32 = 220;

// ---------------------------------------------------------------------------------------------
// Districts and population clusters
// ---------------------------------------------------------------------------------------------

/// A disc where people live: a city or town centre, well inside its district.
#[derive(Debug, Clone, Copy)]
struct Cluster {
    /// Town or quarter the disc is centred on (documentation only).
    #[allow(dead_code)]
    name: &'static str,
    lon: f64,
    lat: f64,
    radius_m: f64,
    weight: u32,
}

/// The clusters of one district-level unit.
#[derive(Debug, Clone, Copy)]
struct DistrictClusters {
    code: &'static str,
    name: &'static str,
    /// Resident population in units of 10,000 (2020 census, rounded); weights city-wide picks.
    population_wan: u32,
    clusters: &'static [Cluster],
}

/// Hand-chosen discs, each checked to lie at least 400 m inside its district polygon (OSM via
/// geoBoundaries). 姑苏区 keeps to the old city west of 120.66° E; the Industrial Park (320576),
/// which has no polygon of its own, keeps east of it.
#[rustfmt::skip]
const DISTRICTS: &[DistrictClusters] = &[
    DistrictClusters { code: "320505", name: "虎丘区", population_wan: 83, clusters: &[
        Cluster { name: "狮山", lon: 120.5416, lat: 31.3018, radius_m: 1800.0, weight: 4 },
        Cluster { name: "枫桥", lon: 120.5366, lat: 31.3187, radius_m: 1500.0, weight: 2 },
        Cluster { name: "浒墅关", lon: 120.49, lat: 31.375, radius_m: 2000.0, weight: 2 },
        Cluster { name: "通安", lon: 120.44, lat: 31.37, radius_m: 1800.0, weight: 1 },
        Cluster { name: "科技城", lon: 120.4347, lat: 31.3381, radius_m: 2000.0, weight: 2 },
        Cluster { name: "镇湖", lon: 120.3558, lat: 31.3372, radius_m: 1200.0, weight: 1 },
    ]},
    DistrictClusters { code: "320506", name: "吴中区", population_wan: 139, clusters: &[
        Cluster { name: "长桥", lon: 120.6289, lat: 31.2551, radius_m: 1800.0, weight: 4 },
        Cluster { name: "越溪", lon: 120.5932, lat: 31.206, radius_m: 1800.0, weight: 2 },
        Cluster { name: "木渎", lon: 120.5034, lat: 31.2655, radius_m: 2000.0, weight: 3 },
        Cluster { name: "郭巷", lon: 120.6816, lat: 31.246, radius_m: 1800.0, weight: 2 },
        Cluster { name: "甪直", lon: 120.8589, lat: 31.2591, radius_m: 1500.0, weight: 1 },
        Cluster { name: "东山", lon: 120.41, lat: 31.08, radius_m: 1500.0, weight: 1 },
        Cluster { name: "光福", lon: 120.44, lat: 31.2855, radius_m: 1200.0, weight: 1 },
        Cluster { name: "胥口", lon: 120.48, lat: 31.23, radius_m: 1200.0, weight: 1 },
        Cluster { name: "城南", lon: 120.64, lat: 31.255, radius_m: 1500.0, weight: 2 },
    ]},
    DistrictClusters { code: "320507", name: "相城区", population_wan: 89, clusters: &[
        Cluster { name: "元和", lon: 120.6368, lat: 31.3718, radius_m: 2000.0, weight: 4 },
        Cluster { name: "高铁新城", lon: 120.64, lat: 31.41, radius_m: 1500.0, weight: 2 },
        Cluster { name: "黄埭", lon: 120.555, lat: 31.44, radius_m: 1800.0, weight: 2 },
        Cluster { name: "渭塘", lon: 120.625, lat: 31.45, radius_m: 1500.0, weight: 1 },
        Cluster { name: "望亭", lon: 120.4453, lat: 31.431, radius_m: 1500.0, weight: 1 },
        Cluster { name: "北桥", lon: 120.6, lat: 31.49, radius_m: 1500.0, weight: 1 },
    ]},
    DistrictClusters { code: "320508", name: "姑苏区", population_wan: 96, clusters: &[
        Cluster { name: "平江", lon: 120.628, lat: 31.318, radius_m: 1500.0, weight: 3 },
        Cluster { name: "金阊", lon: 120.6, lat: 31.318, radius_m: 1500.0, weight: 2 },
        Cluster { name: "白洋湾", lon: 120.585, lat: 31.338, radius_m: 1200.0, weight: 1 },
        Cluster { name: "苏锦", lon: 120.612, lat: 31.3341, radius_m: 1200.0, weight: 2 },
        Cluster { name: "吴门桥", lon: 120.615, lat: 31.2938, radius_m: 1200.0, weight: 2 },
        Cluster { name: "双塔", lon: 120.63, lat: 31.3, radius_m: 1200.0, weight: 2 },
    ]},
    DistrictClusters { code: "320509", name: "吴江区", population_wan: 155, clusters: &[
        Cluster { name: "松陵", lon: 120.64, lat: 31.16, radius_m: 2500.0, weight: 5 },
        Cluster { name: "盛泽", lon: 120.65, lat: 30.92, radius_m: 2200.0, weight: 3 },
        Cluster { name: "同里", lon: 120.72, lat: 31.16, radius_m: 1500.0, weight: 1 },
        Cluster { name: "黎里", lon: 120.73, lat: 31.02, radius_m: 1500.0, weight: 1 },
        Cluster { name: "震泽", lon: 120.5, lat: 30.92, radius_m: 1500.0, weight: 1 },
        Cluster { name: "平望", lon: 120.64, lat: 30.99, radius_m: 1500.0, weight: 1 },
        Cluster { name: "七都", lon: 120.42, lat: 30.96, radius_m: 1200.0, weight: 1 },
    ]},
    DistrictClusters { code: "320576", name: "苏州工业园区", population_wan: 113, clusters: &[
        Cluster { name: "湖东", lon: 120.715, lat: 31.32, radius_m: 2000.0, weight: 4 },
        Cluster { name: "湖西", lon: 120.68, lat: 31.315, radius_m: 1200.0, weight: 3 },
        Cluster { name: "斜塘", lon: 120.74, lat: 31.29, radius_m: 2000.0, weight: 2 },
        Cluster { name: "唯亭", lon: 120.79, lat: 31.365, radius_m: 2000.0, weight: 2 },
        Cluster { name: "胜浦", lon: 120.815, lat: 31.315, radius_m: 1500.0, weight: 1 },
        Cluster { name: "娄葑", lon: 120.6995, lat: 31.2936, radius_m: 1500.0, weight: 2 },
    ]},
    DistrictClusters { code: "320581", name: "常熟市", population_wan: 168, clusters: &[
        Cluster { name: "虞山", lon: 120.745, lat: 31.655, radius_m: 2500.0, weight: 5 },
        Cluster { name: "梅李", lon: 120.88, lat: 31.6, radius_m: 1500.0, weight: 1 },
        Cluster { name: "古里", lon: 120.86, lat: 31.65, radius_m: 1500.0, weight: 1 },
        Cluster { name: "海虞", lon: 120.81, lat: 31.73, radius_m: 1500.0, weight: 1 },
        Cluster { name: "支塘", lon: 120.9789, lat: 31.59, radius_m: 1200.0, weight: 1 },
        Cluster { name: "沙家浜", lon: 120.82, lat: 31.55, radius_m: 1200.0, weight: 1 },
        Cluster { name: "辛庄", lon: 120.72, lat: 31.57, radius_m: 1500.0, weight: 1 },
    ]},
    DistrictClusters { code: "320582", name: "张家港市", population_wan: 143, clusters: &[
        Cluster { name: "杨舍", lon: 120.555, lat: 31.87, radius_m: 2500.0, weight: 5 },
        Cluster { name: "锦丰", lon: 120.65, lat: 31.95, radius_m: 1800.0, weight: 2 },
        Cluster { name: "塘桥", lon: 120.64, lat: 31.83, radius_m: 1500.0, weight: 1 },
        Cluster { name: "凤凰", lon: 120.6, lat: 31.78, radius_m: 1200.0, weight: 1 },
        Cluster { name: "金港", lon: 120.44, lat: 31.93, radius_m: 1800.0, weight: 2 },
        Cluster { name: "乐余", lon: 120.74, lat: 31.93, radius_m: 1500.0, weight: 1 },
    ]},
    DistrictClusters { code: "320583", name: "昆山市", population_wan: 209, clusters: &[
        Cluster { name: "玉山", lon: 120.96, lat: 31.39, radius_m: 3000.0, weight: 6 },
        Cluster { name: "花桥", lon: 121.0747, lat: 31.3109, radius_m: 1800.0, weight: 2 },
        Cluster { name: "陆家", lon: 121.04, lat: 31.32, radius_m: 1500.0, weight: 1 },
        Cluster { name: "周市", lon: 120.98, lat: 31.45, radius_m: 1800.0, weight: 2 },
        Cluster { name: "张浦", lon: 120.92, lat: 31.29, radius_m: 1500.0, weight: 1 },
        Cluster { name: "巴城", lon: 120.88, lat: 31.45, radius_m: 1500.0, weight: 1 },
        Cluster { name: "千灯", lon: 120.96, lat: 31.25, radius_m: 1500.0, weight: 1 },
    ]},
    DistrictClusters { code: "320585", name: "太仓市", population_wan: 83, clusters: &[
        Cluster { name: "城厢", lon: 121.11, lat: 31.46, radius_m: 2500.0, weight: 5 },
        Cluster { name: "沙溪", lon: 121.06, lat: 31.56, radius_m: 1500.0, weight: 1 },
        Cluster { name: "浏河", lon: 121.2558, lat: 31.5045, radius_m: 1500.0, weight: 1 },
        Cluster { name: "浮桥", lon: 121.18, lat: 31.63, radius_m: 1500.0, weight: 1 },
        Cluster { name: "璜泾", lon: 121.11, lat: 31.66, radius_m: 1200.0, weight: 1 },
        Cluster { name: "双凤", lon: 121.03, lat: 31.5, radius_m: 1200.0, weight: 1 },
    ]},
];

/// Codes of the ten district-level units of Suzhou, as used by [`Faker::point_in_district`].
pub const DISTRICT_CODES: [&str; 10] =
    ["320505", "320506", "320507", "320508", "320509", "320576", "320581", "320582", "320583", "320585"];

/// The Chinese name of a Suzhou district-level unit from its 6-digit (or longer) code.
pub fn district_name(code: &str) -> Option<&'static str> {
    find_district(code).map(|d| d.name)
}

fn find_district(code: &str) -> Option<&'static DistrictClusters> {
    let code6 = code.get(..6)?;
    // Editions before 2023 gave the Industrial Park 320571.
    let code6 = if code6 == "320571" { "320576" } else { code6 };
    DISTRICTS.iter().find(|d| d.code == code6)
}

/// Cosine of an angle in degrees by Taylor series: plain IEEE arithmetic, so results are the
/// same on every platform (libm `cos` may differ in the last bit). Accurate to 1e-9 for the
/// latitudes of Suzhou.
fn cos_deg(deg: f64) -> f64 {
    let x = deg * std::f64::consts::PI / 180.0;
    let x2 = x * x;
    1.0 - x2 / 2.0 * (1.0 - x2 / 12.0 * (1.0 - x2 / 30.0 * (1.0 - x2 / 56.0 * (1.0 - x2 / 90.0))))
}

const METRES_PER_DEG_LAT: f64 = 110_574.0;
const METRES_PER_DEG_LON_EQUATOR: f64 = 111_320.0;

// ---------------------------------------------------------------------------------------------
// Roads
// ---------------------------------------------------------------------------------------------

/// Real road names by district (matched on part of the district name).
#[rustfmt::skip]
const ROADS: &[(&str, &[&str])] = &[
    ("姑苏", &[
        "人民路", "干将东路", "干将西路", "十全街", "平江路", "观前街", "景德路", "道前街",
        "凤凰街", "临顿路", "东中市", "学士街", "养育巷", "三香路", "广济南路", "桐泾北路",
        "金门路", "留园路", "山塘街", "白塔东路", "娄门路", "齐门路", "南门路", "盘胥路",
        "东环路", "西环路",
    ]),
    ("工业园区", &[
        "金鸡湖大道", "现代大道", "星湖街", "苏州大道东", "旺墩路", "星海街", "华池街", "钟园路",
        "通园路", "星港街", "南施街", "独墅湖大道", "仁爱路", "葑亭大道", "唯文路", "东方大道",
        "星华街", "翠微街", "苏虹东路", "娄葑南路",
    ]),
    ("虎丘", &[
        "狮山路", "长江路", "塔园路", "滨河路", "何山路", "竹园路", "运河路", "玉山路",
        "金山路", "珠江路", "淮海街", "邓尉路", "科灵路", "嵩山路", "华山路", "鹿山路",
        "向阳路", "兴贤路", "建林路", "马涧路",
    ]),
    ("吴中", &[
        "东吴北路", "宝带西路", "宝带东路", "越溪路", "吴中大道", "太湖东路", "木东公路", "吴中东路",
        "吴中西路", "苏福路", "尹山湖路", "东山大道", "晓市路", "友新路", "迎春路", "塔韵路",
        "金枫路", "中山东路",
    ]),
    ("相城", &[
        "阳澄湖东路", "阳澄湖中路", "澄阳路", "齐门外大街", "相城大道", "富元路", "采莲路", "华元路",
        "春申湖路", "太阳路", "嘉元路", "御窑路", "南天成路", "青龙港路", "人民路", "元和塘路",
    ]),
    ("吴江", &[
        "中山北路", "中山南路", "鲈乡北路", "鲈乡南路", "仲英大道", "开平路", "流虹路", "笠泽路",
        "长安路", "松陵大道", "江兴东路", "舜湖西路", "东太湖大道", "运东大道", "花园路", "西环路",
    ]),
    ("常熟", &[
        "海虞北路", "海虞南路", "黄河路", "青墩塘路", "虞山北路", "枫林路", "新世纪大道", "湘江路",
        "东南大道", "衡山路", "书院街", "方塔街", "县南街", "报慈北路", "珠江路", "沿江大道",
    ]),
    ("张家港", &[
        "杨舍东街", "暨阳中路", "暨阳西路", "人民东路", "人民中路", "长安南路", "长安北路", "沙洲西路",
        "港城大道", "梁丰路", "华昌路", "国泰北路", "东环路", "江帆路", "金港大道", "杨锦公路",
    ]),
    ("昆山", &[
        "前进中路", "前进西路", "前进东路", "马鞍山西路", "马鞍山中路", "柏庐北路", "柏庐南路", "人民路",
        "朝阳路", "黄河路", "长江北路", "萧林路", "震川路", "亭林路", "祖冲之路", "绿地大道",
        "白塘路", "同丰路",
    ]),
    ("太仓", &[
        "上海东路", "上海西路", "县府街", "郑和中路", "人民南路", "人民北路", "太平北路", "常胜路",
        "半泾路", "东亭路", "新华东路", "新华西路", "北京东路", "滨江大道", "弇山路",
    ]),
];

/// Common road names used when the district is not recognised.
const ROADS_GENERIC: &[&str] = &[
    "人民路",
    "中山路",
    "解放路",
    "建设路",
    "新华路",
    "长江路",
    "黄河路",
    "和平路",
    "东环路",
    "西环路",
    "文化路",
    "学府路",
    "友谊路",
    "胜利路",
    "青年路",
    "工业路",
];

// ---------------------------------------------------------------------------------------------
// Organisations
// ---------------------------------------------------------------------------------------------

/// The kinds of organisation [`Faker::org_name`] and [`Faker::credit_code_for`] know about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FakeOrgKind {
    /// 社会团体 (associations, societies).
    SocialGroup,
    /// 社会服务机构 (民办非企业单位: service centres, social-work agencies).
    SocialService,
    /// 基金会.
    Foundation,
    /// Social rescue team (社会应急力量, e.g. 蓝天救援队).
    RescueTeam,
    /// Company (企业).
    Company,
    /// Community body: a residents' or villagers' committee's volunteer team.
    CommunityBody,
    /// Government professional team (消防救援, 应急救援).
    GovTeam,
}

impl FakeOrgKind {
    /// Every kind.
    pub const ALL: [FakeOrgKind; 7] = [
        FakeOrgKind::SocialGroup,
        FakeOrgKind::SocialService,
        FakeOrgKind::Foundation,
        FakeOrgKind::RescueTeam,
        FakeOrgKind::Company,
        FakeOrgKind::CommunityBody,
        FakeOrgKind::GovTeam,
    ];

    /// Stable key: `social_group`, `social_service`, `foundation`, `rescue_team`, `company`,
    /// `community_body`, `gov_team`.
    pub fn key(self) -> &'static str {
        match self {
            FakeOrgKind::SocialGroup => "social_group",
            FakeOrgKind::SocialService => "social_service",
            FakeOrgKind::Foundation => "foundation",
            FakeOrgKind::RescueTeam => "rescue_team",
            FakeOrgKind::Company => "company",
            FakeOrgKind::CommunityBody => "community_body",
            FakeOrgKind::GovTeam => "gov_team",
        }
    }

    /// The kind for a key (see [`FakeOrgKind::key`]).
    pub fn from_key(key: &str) -> Option<FakeOrgKind> {
        FakeOrgKind::ALL.into_iter().find(|k| k.key() == key)
    }
}

/// Domains of service (服务领域) understood by [`Faker::org_name`], as stable keys.
pub const DOMAIN_KEYS: [&str; 14] = [
    "elderly",
    "children",
    "disability",
    "psychology",
    "medical",
    "first_aid",
    "search_rescue",
    "water_rescue",
    "mountain_rescue",
    "collapsed_structure",
    "diving",
    "logistics",
    "communications",
    "legal",
];

/// Chinese label of a service-domain key.
pub fn domain_label_zh(key: &str) -> Option<&'static str> {
    Some(match key {
        "elderly" => "养老助老",
        "children" => "儿童青少年",
        "disability" => "助残",
        "psychology" => "心理服务",
        "medical" => "医疗卫生",
        "first_aid" => "应急救护",
        "search_rescue" => "综合搜救",
        "water_rescue" => "水上搜救",
        "mountain_rescue" => "山地搜救",
        "collapsed_structure" => "建筑物倒塌搜救",
        "diving" => "潜水救援",
        "logistics" => "物资保障",
        "communications" => "应急通信",
        "legal" => "法律服务",
        _ => return None,
    })
}

/// English label of a service-domain key.
pub fn domain_label_en(key: &str) -> Option<&'static str> {
    Some(match key {
        "elderly" => "Elderly care",
        "children" => "Children and youth",
        "disability" => "Disability support",
        "psychology" => "Psychological support",
        "medical" => "Medical and health",
        "first_aid" => "First aid",
        "search_rescue" => "Search and rescue",
        "water_rescue" => "Water rescue",
        "mountain_rescue" => "Mountain search and rescue",
        "collapsed_structure" => "Collapsed-structure search and rescue",
        "diving" => "Diving rescue",
        "logistics" => "Logistics",
        "communications" => "Emergency communications",
        "legal" => "Legal services",
        _ => return None,
    })
}

/// What a social group in a domain calls itself (after the place name).
fn group_names(domain: &str) -> &'static [&'static str] {
    match domain {
        "elderly" => &["养老服务协会", "老龄事业发展促进会", "助老志愿者协会"],
        "children" => &["青少年发展促进会", "儿童关爱协会", "青少年志愿服务协会"],
        "disability" => &["助残志愿者协会", "残疾人康复协会"],
        "psychology" => &["心理咨询师协会", "心理卫生协会", "心理健康促进会"],
        "medical" => &["医疗志愿服务协会", "卫生应急志愿者协会", "护理志愿者协会"],
        "first_aid" => &["应急救护协会", "急救志愿者协会", "红十字志愿服务协会"],
        "search_rescue" | "mountain_rescue" | "collapsed_structure" => {
            &["应急救援协会", "救援志愿者协会", "户外救援协会"]
        }
        "water_rescue" | "diving" => &["水上救援协会", "潜水运动协会", "救生协会"],
        "logistics" => &["物流协会", "应急物资保障协会", "志愿服务联合会"],
        "communications" => &["无线电协会", "业余无线电协会", "应急通信协会"],
        "legal" => &["法律服务志愿者协会", "人民调解协会"],
        _ => &["志愿者协会", "志愿服务联合会", "慈善总会", "社会工作者协会", "义工联合会"],
    }
}

/// What a social service organisation in a domain calls itself (after place and brand).
fn service_names(domain: &str) -> &'static [&'static str] {
    match domain {
        "elderly" => &["助老服务中心", "居家养老服务中心", "乐龄服务中心", "颐养服务社"],
        "children" => &["儿童服务中心", "青少年服务中心", "儿童关爱服务社"],
        "disability" => &["助残服务中心", "康复服务中心", "残障人士服务社"],
        "psychology" => &["心理服务中心", "心理咨询服务中心", "心理健康服务社"],
        "medical" | "first_aid" => &["应急救护服务中心", "健康服务中心", "急救培训中心"],
        "legal" => &["法律服务中心", "调解服务中心"],
        "logistics" | "communications" => &["应急服务中心", "公益服务中心"],
        "search_rescue" | "water_rescue" | "mountain_rescue" | "collapsed_structure" | "diving" => {
            &["应急救援服务中心", "安全应急服务中心"]
        }
        _ => &["社会工作服务社", "社会工作服务中心", "公益服务中心", "志愿服务中心", "社区服务中心"],
    }
}

/// Brand words of social service organisations.
const SERVICE_BRANDS: &[&str] = &[
    "阳光",
    "启明",
    "爱心",
    "同心",
    "春晖",
    "暖阳",
    "益友",
    "乐龄",
    "馨和",
    "仁爱",
    "博爱",
    "众合",
    "善行",
    "恒爱",
    "微光",
    "星火",
    "彩虹",
    "蒲公英",
    "向日葵",
    "新起点",
    "睦邻",
    "和美",
    "常青藤",
    "知行",
    "乐群",
    "惠民",
    "久久",
    "绿叶",
];

/// Foundation purposes.
fn foundation_names(domain: &str) -> &'static [&'static str] {
    match domain {
        "elderly" => &["老龄事业基金会", "敬老基金会"],
        "children" => &["青少年发展基金会", "教育发展基金会", "儿童关爱基金会"],
        "disability" => &["残疾人福利基金会", "助残基金会"],
        "medical" | "first_aid" | "psychology" => &["红十字基金会", "医疗救助基金会", "健康促进基金会"],
        "search_rescue" | "water_rescue" | "mountain_rescue" | "collapsed_structure" | "diving" => {
            &["见义勇为基金会", "应急救援基金会"]
        }
        _ => &["慈善基金会", "公益基金会", "社会福利基金会", "乡村振兴基金会"],
    }
}

/// Brand words of social rescue teams.
const RESCUE_BRANDS: &[&str] = &[
    "蓝天",
    "红十字",
    "曙光",
    "神鹰",
    "雄鹰",
    "飞鹰",
    "金鹰",
    "天龙",
    "正阳",
    "平安",
    "中联",
    "公羊",
    "东吴",
    "姑苏",
    "太湖",
    "江南",
];

/// Team words of social rescue teams by domain.
fn rescue_names(domain: &str) -> &'static [&'static str] {
    match domain {
        "water_rescue" => &["水上救援队", "水上搜救队"],
        "diving" => &["潜水救援队", "水下救援队"],
        "mountain_rescue" => &["山地搜救队", "户外救援队"],
        "collapsed_structure" => &["城市搜救队", "应急救援队"],
        "medical" | "first_aid" => &["应急救护队", "救援队"],
        "communications" => &["应急通信保障队", "救援队"],
        _ => &["救援队", "应急救援队", "救援队", "搜救队"],
    }
}

/// Company brand syllables (combined two at a time).
const COMPANY_SYLLABLES: &[&str] = &[
    "恒", "瑞", "嘉", "华", "信", "达", "鑫", "源", "通", "泰", "盛", "丰", "宏", "远", "佳", "益", "德", "康", "博",
    "锦", "辰", "诚", "润", "安", "创", "新", "立", "联", "天", "和", "鼎", "汇", "久", "同", "金", "海", "星", "明",
];

/// Company trades by domain.
fn company_trades(domain: &str) -> &'static [&'static str] {
    match domain {
        "logistics" => &["物流", "供应链管理", "运输", "仓储服务"],
        "medical" | "first_aid" => &["医疗器械", "医药", "生物医药", "健康科技"],
        "communications" => &["通信技术", "信息科技", "电子科技", "网络科技"],
        "collapsed_structure" | "search_rescue" | "mountain_rescue" => {
            &["建设工程", "机械设备", "工程机械", "起重设备"]
        }
        "water_rescue" | "diving" => &["船舶", "水务工程", "港务"],
        _ => &["科技", "实业", "精密机械", "环保科技", "新材料", "电子", "智能科技", "物业管理", "食品", "纺织"],
    }
}

/// Community name parts for generated residents' and villagers' committees.
const COMMUNITY_FIRST: &[&str] = &[
    "金", "桂", "翠", "枫", "湖", "新", "东", "南", "西", "北", "联", "花", "锦", "莲", "梅", "竹", "香", "福", "康",
    "和", "瑞", "润", "长", "青", "石", "双", "三", "永",
];
const COMMUNITY_SECOND: &[&str] = &[
    "桥", "苑", "园", "湾", "港", "庄", "塘", "浜", "泾", "溪", "城", "华", "湖", "河", "巷", "亭", "泉", "坊", "里",
    "浦",
];

/// A volunteer team's name after the committee name.
const COMMUNITY_TEAMS: &[&str] =
    &["志愿服务队", "应急志愿服务队", "网格志愿服务队", "党员志愿服务队", "邻里守望志愿服务队"];

/// District and city government professional teams by domain.
fn gov_team_names(domain: &str) -> &'static [&'static str] {
    match domain {
        "water_rescue" | "diving" => &["水上应急救援队", "防汛抗旱应急抢险队"],
        "medical" | "first_aid" => &["卫生应急队", "紧急医疗救援队"],
        "communications" => &["应急通信保障大队"],
        "mountain_rescue" | "collapsed_structure" | "search_rescue" => &["消防救援大队", "应急救援大队", "专职消防队"],
        _ => &["消防救援大队", "应急救援大队", "专职消防队", "防汛抗旱应急抢险队"],
    }
}

/// The short form of a place name used by teams and companies: 昆山市 → 昆山, 吴江区 → 吴江,
/// 苏州工业园区 → 苏州工业园区 (kept whole, it has no shorter common form).
fn short_place(district_name: &str) -> &str {
    if district_name.ends_with("园区") {
        return district_name;
    }
    district_name
        .strip_suffix('市')
        .or_else(|| district_name.strip_suffix('区'))
        .or_else(|| district_name.strip_suffix('县'))
        .unwrap_or(district_name)
}

/// The place prefix for a formal name: 姑苏区 → 苏州市姑苏区 or 姑苏区; county-level cities and
/// the park stand alone.
fn formal_place(district_name: &str, with_city: bool) -> String {
    if with_city && district_name.ends_with('区') && !district_name.starts_with("苏州") {
        format!("苏州市{district_name}")
    } else {
        district_name.to_string()
    }
}

// ---------------------------------------------------------------------------------------------
// Skills
// ---------------------------------------------------------------------------------------------

/// Volunteer skill keys with how common they are among volunteers (relative weights).
const SKILLS: &[(&str, &str, &str, u32)] = &[
    ("first_aid", "急救", "First aid", 30),
    ("first_responder", "第一响应人", "First responder", 12),
    ("psychology", "心理疏导", "Psychological support", 8),
    ("medical", "医疗", "Medical", 6),
    ("nursing", "护理", "Nursing", 7),
    ("driving", "驾驶", "Driving", 22),
    ("logistics", "搬运", "Logistics and carrying", 20),
    ("communications", "通信", "Communications", 5),
    ("legal", "法律", "Legal", 3),
    ("languages", "外语", "Languages", 6),
    ("water_rescue", "水上救援", "Water rescue", 5),
    ("mountain_rescue", "山地搜救", "Mountain search and rescue", 3),
    ("collapsed_structure", "建筑物倒塌搜救", "Collapsed-structure search and rescue", 2),
    ("diving", "潜水", "Diving", 2),
    ("drone", "无人机", "Drone operation", 4),
    ("electrician", "电工", "Electrician", 5),
    ("cooking", "厨师", "Cooking", 8),
];

/// Every skill key, in a stable order.
pub const SKILL_KEYS: [&str; 17] = [
    "first_aid",
    "first_responder",
    "psychology",
    "medical",
    "nursing",
    "driving",
    "logistics",
    "communications",
    "legal",
    "languages",
    "water_rescue",
    "mountain_rescue",
    "collapsed_structure",
    "diving",
    "drone",
    "electrician",
    "cooking",
];

/// Chinese label of a skill key (`first_aid` → 急救).
pub fn skill_label_zh(key: &str) -> Option<&'static str> {
    SKILLS.iter().find(|s| s.0 == key).map(|s| s.1)
}

/// English label of a skill key (`first_aid` → First aid).
pub fn skill_label_en(key: &str) -> Option<&'static str> {
    SKILLS.iter().find(|s| s.0 == key).map(|s| s.2)
}

// ---------------------------------------------------------------------------------------------
// Weighted choice
// ---------------------------------------------------------------------------------------------

/// Cumulative weights for O(log n) weighted picks.
#[derive(Debug, Clone)]
struct Cumulative {
    ends: Vec<u32>,
}

impl Cumulative {
    fn new(weights: impl IntoIterator<Item = u32>) -> Cumulative {
        let mut total = 0;
        let ends = weights
            .into_iter()
            .map(|w| {
                total += w;
                total
            })
            .collect();
        Cumulative { ends }
    }

    fn pick<R: Rng + ?Sized>(&self, rng: &mut R) -> usize {
        let total = *self.ends.last().expect("non-empty weights");
        let x = rng.gen_range(0..total);
        self.ends.partition_point(|&e| e <= x)
    }
}

// ---------------------------------------------------------------------------------------------
// Faker
// ---------------------------------------------------------------------------------------------

/// A generated person: name, sex and identifiers that agree with each other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakePerson {
    /// Chinese name, 2–3 characters.
    pub name: String,
    /// Sex (matches the ID number's sequence parity and the given name's usual sex).
    pub sex: Sex,
    /// Birth date (matches the ID number).
    pub birth_date: Date,
    /// Valid 18-character ID number.
    pub id_number: String,
    /// Valid mobile number.
    pub phone: String,
}

/// Deterministic demo-data generator. Same seed ⇒ same sequence of outputs.
#[derive(Debug, Clone)]
pub struct Faker {
    rng: ChaCha8Rng,
    surnames: Cumulative,
    skills: Cumulative,
    city: Cumulative,
    /// Organisation names already handed out, so that seeded registries have unique names.
    org_names: HashSet<String>,
    /// Highest repeat number handed out per base name (see [`Faker::org_name`]).
    org_repeats: HashMap<String, u32>,
}

impl Faker {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Faker {
        Faker {
            rng: ChaCha8Rng::seed_from_u64(seed),
            surnames: Cumulative::new(SURNAMES.iter().map(|s| s.1)),
            skills: Cumulative::new(SKILLS.iter().map(|s| s.3)),
            city: Cumulative::new(DISTRICTS.iter().map(|d| d.population_wan)),
            org_names: HashSet::new(),
            org_repeats: HashMap::new(),
        }
    }

    /// The underlying RNG, for callers that need further deterministic choices.
    pub fn rng(&mut self) -> &mut ChaCha8Rng {
        &mut self.rng
    }

    /// One element of a non-empty slice, uniformly.
    ///
    /// # Panics
    /// If `items` is empty.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.rng.gen_range(0..items.len())]
    }

    /// `true` with probability `per_mille / 1000`.
    pub fn chance(&mut self, per_mille: u32) -> bool {
        self.rng.gen_range(0..1000) < per_mille
    }

    /// Male or female, evenly.
    pub fn sex(&mut self) -> Sex {
        if self.rng.gen_bool(0.5) {
            Sex::Male
        } else {
            Sex::Female
        }
    }

    /// A Chinese name of 2–3 characters with a Suzhou surname distribution.
    pub fn person_name(&mut self) -> String {
        let sex = self.sex();
        self.person_name_for(sex)
    }

    /// A Chinese name whose given name suits `sex`.
    pub fn person_name_for(&mut self, sex: Sex) -> String {
        let surname = SURNAMES[self.surnames.pick(&mut self.rng)].0;
        let pool = match sex {
            Sex::Male => GIVEN_MALE,
            Sex::Female => GIVEN_FEMALE,
        };
        let mut name = String::with_capacity(9);
        name.push_str(surname);
        if self.chance(SINGLE_GIVEN_PER_MILLE) {
            name.push_str(self.pick::<&str>(pool));
            return name;
        }
        // Either a shared lead character (晓、子、思…) or two from the sex's pool.
        let first = if self.chance(400) { *self.pick(GIVEN_LEAD) } else { *self.pick(pool) };
        let mut second = *self.pick::<&str>(pool);
        // Doubled names (婷婷) are common for women; otherwise avoid repeats like 伟伟.
        if second == first && !(sex == Sex::Female && self.chance(500)) {
            second = *self.pick(pool);
        }
        name.push_str(first);
        name.push_str(second);
        name
    }

    /// A valid mobile number.
    pub fn phone(&mut self) -> String {
        codes::generate_phone(&mut self.rng)
    }

    /// A birth date such that the age on `today` lies in `ages` (uniform over that span).
    ///
    /// # Panics
    /// If the range is empty.
    pub fn birth_date(&mut self, ages: RangeInclusive<u32>, today: Date) -> Date {
        let (min, max) = (*ages.start(), *ages.end());
        assert!(min <= max, "empty age range");
        let latest = years_before(today, min);
        let earliest = years_before(today, max + 1) + Duration::days(1);
        let span = (latest - earliest).whole_days();
        earliest + Duration::days(self.rng.gen_range(0..=span))
    }

    /// A valid ID number registered in `division6`, for someone whose age on `today` is in
    /// `ages`, of random sex.
    pub fn id_number(&mut self, division6: &str, ages: RangeInclusive<u32>, today: Date) -> String {
        let birth = self.birth_date(ages, today);
        let sex = self.sex();
        codes::generate_id_number(&mut self.rng, division6, birth, sex)
    }

    /// A whole person whose name, sex, birth date and ID number agree.
    pub fn person(&mut self, division6: &str, ages: RangeInclusive<u32>, today: Date) -> FakePerson {
        let sex = self.sex();
        let name = self.person_name_for(sex);
        let birth_date = self.birth_date(ages, today);
        let id_number = codes::generate_id_number(&mut self.rng, division6, birth_date, sex);
        let phone = self.phone();
        FakePerson { name, sex, birth_date, id_number, phone }
    }

    /// A valid credit code as the registering office in `division6` would issue to `kind`:
    /// civil affairs (`5`) for social organisations, market regulation (`9`) for companies,
    /// establishment (`1`) for government teams.
    ///
    /// Rescue teams are usually registered as social service organisations, sometimes as
    /// social groups; community bodies take civil affairs' "other" class (`59`).
    ///
    /// # Panics
    /// If `division6` is not 6 digits.
    pub fn credit_code_for(&mut self, kind: FakeOrgKind, division6: &str) -> String {
        let (authority, kind_char) = match kind {
            FakeOrgKind::SocialGroup => (Authority::CivilAffairs, '1'),
            FakeOrgKind::SocialService => (Authority::CivilAffairs, '2'),
            FakeOrgKind::Foundation => (Authority::CivilAffairs, '3'),
            FakeOrgKind::RescueTeam => {
                let k = if self.chance(700) { '2' } else { '1' };
                (Authority::CivilAffairs, k)
            }
            FakeOrgKind::Company => (Authority::MarketRegulation, '1'),
            FakeOrgKind::CommunityBody => (Authority::CivilAffairs, '9'),
            FakeOrgKind::GovTeam => {
                // Fire brigades are organs (机关); emergency teams are often public institutions.
                let k = if self.chance(600) { '1' } else { '2' };
                (Authority::Establishment, k)
            }
        };
        codes::generate_credit_code(&mut self.rng, authority, kind_char, division6)
    }

    /// A plausible, unique (within this generator) organisation name of `kind` in
    /// `district_name` (e.g. 姑苏区, 昆山市, 苏州工业园区) for service domain `domain`
    /// (one of [`DOMAIN_KEYS`]; any other value, including "", gives a general name).
    pub fn org_name(&mut self, kind: FakeOrgKind, district_name: &str, domain: &str) -> String {
        for _ in 0..24 {
            let name = self.org_name_once(kind, district_name, domain);
            if self.org_names.insert(name.clone()) {
                return name;
            }
        }
        // Rare: the small name spaces (foundations, government teams) are used up. Number the
        // repeats, remembering the last number per base name so this stays O(1).
        let base = self.org_name_once(kind, district_name, domain);
        let last = self.org_repeats.entry(base.clone()).or_insert(1);
        loop {
            *last += 1;
            let name = format!("{base}（{}）", *last);
            if self.org_names.insert(name.clone()) {
                return name;
            }
        }
    }

    fn org_name_once(&mut self, kind: FakeOrgKind, district: &str, domain: &str) -> String {
        match kind {
            FakeOrgKind::SocialGroup => {
                let with_city = self.chance(500);
                let place = formal_place(district, with_city);
                format!("{place}{}", self.pick(group_names(domain)))
            }
            FakeOrgKind::SocialService => {
                let with_city = self.chance(150);
                let place = formal_place(district, with_city);
                let brand = *self.pick(SERVICE_BRANDS);
                format!("{place}{brand}{}", self.pick(service_names(domain)))
            }
            FakeOrgKind::Foundation => {
                // Most foundations register with the city.
                let place = if self.chance(650) { "苏州市".to_string() } else { district.to_string() };
                format!("{place}{}", self.pick(foundation_names(domain)))
            }
            FakeOrgKind::RescueTeam => {
                let brand = *self.pick(RESCUE_BRANDS);
                let team = *self.pick(rescue_names(domain));
                if self.chance(300) {
                    format!("苏州{brand}{team}")
                } else if self.chance(500) {
                    format!("{district}{brand}{team}")
                } else {
                    format!("{}{brand}{team}", short_place(district))
                }
            }
            FakeOrgKind::Company => {
                let place = if self.chance(450) { "苏州" } else { short_place(district) };
                let a = *self.pick(COMPANY_SYLLABLES);
                let mut b = *self.pick(COMPANY_SYLLABLES);
                if b == a {
                    b = *self.pick(COMPANY_SYLLABLES);
                }
                let trade = *self.pick(company_trades(domain));
                let form = if self.chance(100) { "股份有限公司" } else { "有限公司" };
                format!("{place}{a}{b}{trade}{form}")
            }
            FakeOrgKind::CommunityBody => {
                let a = *self.pick(COMMUNITY_FIRST);
                let b = *self.pick(COMMUNITY_SECOND);
                let committee = if self.chance(700) {
                    format!("{a}{b}社区居民委员会")
                } else {
                    format!("{a}{b}村村民委员会")
                };
                format!("{district}{committee}{}", self.pick(COMMUNITY_TEAMS))
            }
            FakeOrgKind::GovTeam => {
                if self.chance(80) {
                    return format!("苏州市{}", self.pick(&["消防救援支队", "应急救援支队"]));
                }
                let place = formal_place(district, self.chance(500));
                format!("{place}{}", self.pick(gov_team_names(domain)))
            }
        }
    }

    /// A volunteer team name for a real residents' or villagers' committee, e.g.
    /// `平江路社区居委会` → `平江路社区居委会应急志愿服务队`. Not deduplicated.
    pub fn community_team_name(&mut self, committee_name: &str) -> String {
        format!("{committee_name}{}", self.pick(COMMUNITY_TEAMS))
    }

    /// A street address such as `姑苏区平江街道平江路123号3幢502室`, with a real road of the
    /// district. `street_name` may be empty.
    pub fn street_address(&mut self, district_name: &str, street_name: &str) -> String {
        let roads = ROADS.iter().find(|(key, _)| district_name.contains(key)).map(|(_, r)| *r).unwrap_or(ROADS_GENERIC);
        let road = *self.pick(roads);
        // Low house numbers are more common than high ones.
        let number = if self.chance(700) { self.rng.gen_range(1..200) } else { self.rng.gen_range(200..1200) };
        let mut out = format!("{district_name}{street_name}{road}{number}号");
        if self.chance(600) {
            let building = self.rng.gen_range(1..=30);
            out.push_str(&format!("{building}幢"));
            if self.chance(500) {
                let floor = self.rng.gen_range(1..=18);
                let room = self.rng.gen_range(1..=4);
                out.push_str(&format!("{floor}{room:02}室"));
            }
        }
        out
    }

    /// A WGS-84 `(lon, lat)` where people live in the Suzhou district `district_code` (6 digits,
    /// or a longer code whose first 6 digits name the district; `320571` is read as the park).
    /// Points fall inside weighted population-cluster discs, denser towards their centres.
    /// Unknown codes give a point anywhere in Suzhou, weighted by district population.
    /// Coordinates are rounded to 6 decimals (about 0.1 m).
    pub fn point_in_district(&mut self, district_code: &str) -> (f64, f64) {
        let district = match find_district(district_code) {
            Some(d) => d,
            None => &DISTRICTS[self.city.pick(&mut self.rng)],
        };
        self.point_in(district)
    }

    /// A point anywhere people live in Suzhou, districts weighted by population.
    pub fn point_in_suzhou(&mut self) -> (f64, f64) {
        let district = &DISTRICTS[self.city.pick(&mut self.rng)];
        self.point_in(district)
    }

    fn point_in(&mut self, district: &DistrictClusters) -> (f64, f64) {
        // Few clusters per district: a linear scan is faster than building a table.
        let total: u32 = district.clusters.iter().map(|c| c.weight).sum();
        let mut x = self.rng.gen_range(0..total);
        let mut cluster = &district.clusters[0];
        for c in district.clusters {
            if x < c.weight {
                cluster = c;
                break;
            }
            x -= c.weight;
        }
        // Irwin–Hall (sum of three uniforms) per axis approximates a normal with σ = 1;
        // scale to σ = r/2 and reject anything outside the disc.
        let (dx, dy) = loop {
            let u: f64 = (0..3).map(|_| self.rng.gen_range(-1.0..1.0)).sum();
            let v: f64 = (0..3).map(|_| self.rng.gen_range(-1.0..1.0)).sum();
            let (dx, dy) = (u * cluster.radius_m / 2.0, v * cluster.radius_m / 2.0);
            if dx * dx + dy * dy <= cluster.radius_m * cluster.radius_m {
                break (dx, dy);
            }
        };
        let lon = cluster.lon + dx / (METRES_PER_DEG_LON_EQUATOR * cos_deg(cluster.lat));
        let lat = cluster.lat + dy / METRES_PER_DEG_LAT;
        (round6(lon), round6(lat))
    }

    /// One to three distinct volunteer skill keys (see [`SKILL_KEYS`]), common skills
    /// (first aid, driving, carrying) more likely than specialist ones (diving).
    pub fn skills(&mut self) -> Vec<&'static str> {
        let n = match self.rng.gen_range(0..10) {
            0..=4 => 1,
            5..=8 => 2,
            _ => 3,
        };
        let mut out: Vec<&'static str> = Vec::with_capacity(n);
        while out.len() < n {
            let key = SKILLS[self.skills.pick(&mut self.rng)].0;
            if !out.contains(&key) {
                out.push(key);
            }
        }
        out
    }

    /// One to three distinct service domains (see [`DOMAIN_KEYS`]).
    pub fn service_domains(&mut self) -> Vec<&'static str> {
        let n = self.rng.gen_range(1..=3);
        let mut out: Vec<&'static str> = Vec::with_capacity(n);
        while out.len() < n {
            let key = *self.pick(&DOMAIN_KEYS);
            if !out.contains(&key) {
                out.push(key);
            }
        }
        out
    }
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// The same month and day `years` earlier; 29 February becomes 28 February in common years.
fn years_before(date: Date, years: u32) -> Date {
    let year = date.year() - years as i32;
    Date::from_calendar_date(year, date.month(), date.day())
        .or_else(|_| Date::from_calendar_date(year, Month::February, 28))
        .expect("valid calendar date")
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn clusters_respect_the_old_city_and_park_split() {
        // The park (320576) shares the 姑苏区 polygon; it keeps east of 120.66°, 姑苏区 west.
        for d in DISTRICTS {
            for c in d.clusters {
                let half_width_deg = c.radius_m / (METRES_PER_DEG_LON_EQUATOR * cos_deg(c.lat));
                match d.code {
                    "320508" => assert!(c.lon + half_width_deg < 120.66, "{}", c.name),
                    "320576" => assert!(c.lon - half_width_deg > 120.66, "{}", c.name),
                    _ => {}
                }
            }
        }
        let codes: Vec<&str> = DISTRICTS.iter().map(|d| d.code).collect();
        assert_eq!(codes, DISTRICT_CODES);
    }

    #[test]
    fn taylor_cosine_matches_libm() {
        for deg in [0.0_f64, 15.0, 30.76, 31.3, 32.04, 45.0] {
            assert!((cos_deg(deg) - deg.to_radians().cos()).abs() < 1e-8);
        }
    }

    #[test]
    fn leap_day_ages_stay_in_range() {
        let mut f = Faker::new(7);
        for today in [date!(2024 - 02 - 29), date!(2023 - 02 - 28), date!(2023 - 03 - 01)] {
            for _ in 0..2000 {
                let b = f.birth_date(18..=18, today);
                assert_eq!(
                    codes::IdNumber::parse(&codes::generate_id_number(f.rng(), "320508", b, Sex::Male))
                        .unwrap()
                        .age_on(today),
                    18,
                    "born {b} today {today}"
                );
            }
        }
    }
}
