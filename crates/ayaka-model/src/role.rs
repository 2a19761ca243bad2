use ayaka_snowflake::RoleId;
use serde::{Deserialize, Serialize};

use crate::macros::string_enum;

string_enum! {
    /// A permission a [`Role`] grants, written as a string.
    ///
    /// The documents say only "list of strings which denote the
    /// permissions"; the named values are this library's and the local
    /// server's. Any other string is kept in [`Permission::Unknown`].
    Permission {
        /// Every permission.
        Administrator = "ADMINISTRATOR",
        /// Edit the guild (`PATCH /guilds/{id}`).
        ManageGuild = "MANAGE_GUILD",
        /// Create and edit channels.
        ManageChannels = "MANAGE_CHANNELS",
        /// Create and edit roles.
        ManageRoles = "MANAGE_ROLES",
        /// Create invites.
        CreateInvite = "CREATE_INVITE",
        /// Remove members.
        KickMembers = "KICK_MEMBERS",
        /// Ban members.
        BanMembers = "BAN_MEMBERS",
    }
}

/// A role of a guild.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    /// The role's id.
    pub id: RoleId,
    /// The role's name.
    pub name: String,
    /// Where the role sorts; higher is more important.
    pub position: i32,
    /// The colour, as sent (for example `"#ff0000"`).
    pub color: String,
    /// What members with this role may do.
    #[serde(default)]
    pub permissions: Vec<Permission>,
}

impl Role {
    /// Whether this role grants `permission`, directly or as administrator.
    pub fn allows(&self, permission: &Permission) -> bool {
        self.permissions
            .iter()
            .any(|granted| granted == permission || *granted == Permission::Administrator)
    }
}
