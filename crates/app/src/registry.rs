//! Registry of social forces (capability A): the scoped organisation list. Filing, verification,
//! volunteers and Excel rosters come with the registry issue.

use crate::{App, AppResult};
use tongxin_domain::page::Page;
use tongxin_domain::Actor;
use tongxin_store::registry::{list_orgs, scoped_counts, OrgFilter, OrgListItem};

impl App {
    /// One page of the organisations the actor may see.
    pub async fn list_orgs(&self, actor: &Actor, filter: &OrgFilter) -> AppResult<Page<OrgListItem>> {
        Ok(list_orgs(self.store.reader(), actor, filter).await?)
    }

    /// Home-page counts within the actor's scope.
    pub async fn home_counts(&self, actor: &Actor) -> AppResult<[(&'static str, i64); 4]> {
        Ok(scoped_counts(self.store.reader(), actor).await?)
    }
}
