//! Roles (PRODUCT.md section 2) and the acting account's scope.
//!
//! Every account acts within a jurisdiction (a division node, kept as its path) and/or for an
//! organisation. [`Actor`] is the one scoping value every service receives; every query filters
//! through it, so a Gusu officer can never read or change Wuzhong data.

use crate::division;
use serde::Serialize;

/// A role. One per account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Role {
    /// Emergency bureau commander / duty officer (指挥员).
    Commander,
    /// Civil-affairs officer (民政干部).
    CivilAffairs,
    /// Street or community worker (街道/社区工作人员).
    CommunityWorker,
    /// Grid worker (网格员).
    GridWorker,
    /// Organisation admin (组织管理员).
    OrgAdmin,
    /// Volunteer (志愿者).
    Volunteer,
    /// Resident (居民).
    Resident,
    /// Supervisor: discipline inspection, media (监督员).
    Supervisor,
    /// System administrator (系统管理员).
    SysAdmin,
}

impl Role {
    /// All roles, in display order.
    pub const ALL: [Role; 9] = [
        Role::Commander,
        Role::CivilAffairs,
        Role::CommunityWorker,
        Role::GridWorker,
        Role::OrgAdmin,
        Role::Volunteer,
        Role::Resident,
        Role::Supervisor,
        Role::SysAdmin,
    ];

    /// Stable key stored in the database and used in the API.
    pub fn key(self) -> &'static str {
        match self {
            Role::Commander => "commander",
            Role::CivilAffairs => "civil_affairs",
            Role::CommunityWorker => "community_worker",
            Role::GridWorker => "grid_worker",
            Role::OrgAdmin => "org_admin",
            Role::Volunteer => "volunteer",
            Role::Resident => "resident",
            Role::Supervisor => "supervisor",
            Role::SysAdmin => "sys_admin",
        }
    }

    /// Parses a key.
    pub fn from_key(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.key() == s)
    }

    /// Chinese label.
    pub fn label_zh(self) -> &'static str {
        match self {
            Role::Commander => "应急指挥员",
            Role::CivilAffairs => "民政干部",
            Role::CommunityWorker => "街道/社区工作人员",
            Role::GridWorker => "网格员",
            Role::OrgAdmin => "组织管理员",
            Role::Volunteer => "志愿者",
            Role::Resident => "居民",
            Role::Supervisor => "监督员",
            Role::SysAdmin => "系统管理员",
        }
    }

    /// English label.
    pub fn label_en(self) -> &'static str {
        match self {
            Role::Commander => "Commander",
            Role::CivilAffairs => "Civil-affairs officer",
            Role::CommunityWorker => "Street/community worker",
            Role::GridWorker => "Grid worker",
            Role::OrgAdmin => "Organisation admin",
            Role::Volunteer => "Volunteer",
            Role::Resident => "Resident",
            Role::Supervisor => "Supervisor",
            Role::SysAdmin => "System administrator",
        }
    }

    /// Whether accounts of this role must have a jurisdiction (officers and workers do;
    /// organisation admins act for their organisation; volunteers and residents for themselves).
    pub fn needs_jurisdiction(self) -> bool {
        matches!(
            self,
            Role::Commander
                | Role::CivilAffairs
                | Role::CommunityWorker
                | Role::GridWorker
                | Role::Supervisor
                | Role::SysAdmin
        )
    }

    /// Whether this role may see personal data (ID numbers, phones) unmasked, on request and audited.
    pub fn may_unmask(self) -> bool {
        matches!(self, Role::Commander | Role::CivilAffairs | Role::CommunityWorker | Role::GridWorker)
    }
}

/// The account acting on a request, with its scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Actor {
    /// User id.
    pub user_id: i64,
    /// Login name.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// Jurisdiction code, if any.
    pub division_code: Option<String>,
    /// Jurisdiction path (materialised), if any.
    pub division_path: Option<String>,
    /// Organisation the account acts for, if any.
    pub org_id: Option<i64>,
}

impl Actor {
    /// Whether the actor may see or act on something located at `path` (a division path).
    /// Accounts without a jurisdiction see nothing by division; they act through their
    /// organisation or on their own records.
    pub fn covers(&self, path: &str) -> bool {
        self.division_path.as_deref().is_some_and(|own| division::is_within(path, own))
    }

    /// Whether the actor acts for organisation `org_id`.
    pub fn acts_for(&self, org_id: i64) -> bool {
        self.org_id == Some(org_id)
    }

    /// Whether the actor may see or act on a record located at `path`, owned by `org_id`.
    pub fn may_access(&self, path: &str, org_id: Option<i64>) -> bool {
        self.covers(path) || org_id.is_some_and(|o| self.acts_for(o))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn officer(path: &str) -> Actor {
        Actor {
            user_id: 1,
            username: "a".into(),
            display_name: "A".into(),
            role: Role::CivilAffairs,
            division_code: None,
            division_path: Some(path.into()),
            org_id: None,
        }
    }

    #[test]
    fn gusu_officer_does_not_cover_wuzhong() {
        let gusu = officer("320500000000/320508000000/");
        assert!(gusu.covers("320500000000/320508000000/320508001000/"));
        assert!(!gusu.covers("320500000000/320506000000/320506001000/"));
        assert!(!gusu.covers("320500000000/"));
    }

    #[test]
    fn role_keys_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::from_key(r.key()), Some(r));
        }
    }
}
