//! Store conformance suite: every test runs on SQLite and, when `TONGXIN_TEST_PG` is set, on
//! PostgreSQL, each in its own database or schema.

mod audit;
mod bulk;
mod divisions;
mod outbox;
mod registry;
mod scope;
mod tx;

use tongxin_domain::division::{self, DivisionRow};
use tongxin_store::testkit::TestDb;
use tongxin_store::Tx;

/// A tiny tree: Suzhou, Gusu with one street and community, Wuzhong with one street.
pub fn mini_tree() -> Vec<DivisionRow> {
    division::parse_tree_csv(
        "code,name,level,parent_code\n\
         320500000000,苏州市,city,\n\
         320506000000,吴中区,district,320500000000\n\
         320506001000,长桥街道,street,320506000000\n\
         320508000000,姑苏区,district,320500000000\n\
         320508017000,平江街道,street,320508000000\n\
         320508017001,平江社区居委会,community,320508017000\n",
    )
    .unwrap()
}

/// Loads the mini tree.
pub async fn load_mini(tx: &mut Tx) {
    let rows = mini_tree();
    let paths = division::paths(&rows, "");
    tongxin_store::divisions::insert_rows(tx, &rows, &paths).await.unwrap();
}

/// All backends under test.
pub async fn dbs() -> Vec<TestDb> {
    TestDb::all().await
}
