//! The Windows DHCP Server event catalogue as typed IDs.
//!
//! xdhcpd reports its operational events under the event IDs and symbolic
//! names of the Windows Server DHCP service ("DHCP Server Operational Events",
//! Windows Server 2012 R2), so that monitoring which alerts on Windows IDs
//! keeps working after a migration. This module is only the catalogue: all 141
//! IDs, each with its symbolic name exactly as Windows spells it and the
//! [`Severity`] xdhcpd assigns to it.
//!
//! The wording of every message is xdhcpd's own; no Windows event text is
//! reproduced here. Which events xdhcpd actually emits, and the fields each
//! one carries, are defined by the parent `events` module; `docs/EVENTS.md`
//! says, for every ID, when xdhcpd emits it or why it does not apply.
//!
//! The single `catalogue!` table below is the source of truth: the enum, its
//! discriminants (= the Windows IDs), [`EventId::ALL`], [`EventId::name`],
//! [`EventId::severity`] and [`EventId::from_id`] are all generated from it.
//! A duplicated ID fails to compile (duplicate discriminant).
//!
//! Oddities of the Windows catalogue, kept verbatim in the names:
//! * 1034 and 1035 share the symbolic name `EVENT_SERVER_READ_ONLY_GROUP_ERROR`;
//!   1034's text is about callout DLLs failing to load, so its variant is
//!   [`EventId::CalloutLoadFailed`]. [`EventId::name`] is therefore not
//!   injective and there is no lookup by name.
//! * 1059 is spelled `VENT_SERVER_COULDNT_SEE_DS` (missing `E`).
//! * 10000 `EVENT_DHCPV6_ADDERESS_NACKED` and 1065
//!   `EVENT_SERVER_ORPHONED_ENTRIES_DELETED` are misspelt, and 10013 is
//!   `EVENT_DHCPv6_…` with a lower-case `v`; the variant names are corrected.
//! * 10024 `ERROR_LAST_DHCPV6_SERVER_ERROR` is an end-of-range marker of the
//!   Windows error codes, not a real event.

use core::fmt;

/// How serious an event is; the level of its log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Normal operation worth recording.
    Info,
    /// Service continues but something needs attention.
    Warning,
    /// A client or the whole service is not being served as configured.
    Error,
}

impl Severity {
    /// Lower-case name, as written in logs and in `docs/EVENTS.md`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Generates [`EventId`] and its lookups from one line per event:
/// `id Variant "WINDOWS_SYMBOLIC_NAME" Severity;`, optionally preceded by
/// extra doc attributes.
macro_rules! catalogue {
    ($( $(#[$attr:meta])* $id:literal $variant:ident $name:literal $sev:ident; )*) => {
        /// A Windows DHCP Server event ID. The discriminant is the Windows ID.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[repr(u16)]
        pub enum EventId {
            $(
                #[doc = concat!("`", stringify!($id), "` `", $name, "` (", stringify!($sev), ").")]
                $(#[$attr])*
                $variant = $id,
            )*
        }

        impl EventId {
            /// Number of events in the catalogue.
            pub const COUNT: usize = [$($id),*].len();

            /// Every event, in ascending ID order.
            pub const ALL: [EventId; EventId::COUNT] = [$(EventId::$variant),*];

            /// The exact Windows symbolic name (not unique: see 1034/1035).
            #[must_use]
            pub const fn name(self) -> &'static str {
                match self {
                    $(EventId::$variant => $name,)*
                }
            }

            /// The severity xdhcpd assigns to this event.
            #[must_use]
            pub const fn severity(self) -> Severity {
                match self {
                    $(EventId::$variant => Severity::$sev,)*
                }
            }

            /// The event with this Windows ID, if it is in the catalogue.
            #[must_use]
            pub const fn from_id(id: u16) -> Option<EventId> {
                match id {
                    $($id => Some(EventId::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

catalogue! {
    1000  UnknownOption                   "EVENT_SERVER_UNKNOWN_OPTION"                  Info;
    1001  FailedRegisterSc                "EVENT_SERVER_FAILED_REGISTER_SC"              Error;
    1002  InitDataFailed                  "EVENT_SERVER_INIT_DATA_FAILED"                Error;
    1003  InitRegistryFailed              "EVENT_SERVER_INIT_REGISTRY_FAILED"            Error;
    1004  InitDatabaseFailed              "EVENT_SERVER_INIT_DATABASE_FAILED"            Error;
    1005  InitWinsockFailed               "EVENT_SERVER_INIT_WINSOCK_FAILED"             Error;
    1006  InitRpcFailed                   "EVENT_SERVER_INIT_RPC_FAILED"                 Error;
    1007  InitSockFailed                  "EVENT_SERVER_INIT_SOCK_FAILED"                Error;
    1008  Shutdown                        "EVENT_SERVER_SHUTDOWN"                        Error;
    1009  ClientCleanup                   "EVENT_SERVER_CLIENT_CLEANUP"                  Error;
    1010  DatabaseCleanup                 "EVENT_SERVER_DATABASE_CLEANUP"                Error;
    1011  LeaseNack                       "EVENT_SERVER_LEASE_NACK"                      Warning;
    1012  LeaseDeclined                   "EVENT_SERVER_LEASE_DECLINED"                  Warning;
    1013  LeaseRelease                    "EVENT_SERVER_LEASE_RELEASE"                   Info;
    1016  DatabaseBackup                  "EVENT_SERVER_DATABASE_BACKUP"                 Error;
    1017  ConfigBackup                    "EVENT_SERVER_CONFIG_BACKUP"                   Error;
    1018  DatabaseRestoreFailed           "EVENT_SERVER_DATABASE_RESTORE_FAILED"         Error;
    1019  ConfigRestoreFailed             "EVENT_SERVER_CONFIG_RESTORE_FAILED"           Error;
    1020  LowAddressWarning               "EVENT_SERVER_LOW_ADDRESS_WARNING"             Warning;
    1021  LoadJetFailed                   "EVENT_SERVER_LOAD_JET_FAILED"                 Error;
    1022  JetConvRequired                 "EVENT_SERVER_JET_CONV_REQUIRED"               Error;
    1023  JetConvInProgress               "EVENT_SERVER_JET_CONV_IN_PROGRESS"            Warning;
    1024  InitAndReady                    "EVENT_SERVER_INIT_AND_READY"                  Info;
    1025  BootFileTable                   "EVENT_SERVER_BOOT_FILE_TABLE"                 Warning;
    1026  BootFileName                    "EVENT_SERVER_BOOT_FILE_NAME"                  Warning;
    1027  AuditLogAppendFailed            "EVENT_SERVER_AUDIT_LOG_APPEND_FAILED"         Error;
    1028  InitAuditLogFailed              "EVENT_SERVER_INIT_AUDIT_LOG_FAILED"           Error;
    1029  PingFailed                      "EVENT_SERVER_PING_FAILED"                     Warning;
    1030  MoveAuditLogFailed              "EVENT_SERVER_MOVE_AUDIT_LOG_FAILED"           Warning;
    1031  CalloutUnhandledException       "EVENT_SERVER_CALLOUT_UNHANDLED_EXCEPTION"     Error;
    1032  CalloutLoadException            "EVENT_SERVER_CALLOUT_LOAD_EXCEPTION"          Error;
    1033  CalloutLoadSuccess              "EVENT_SERVER_CALLOUT_LOAD_SUCCESS"            Info;
    /// The Windows catalogue gives 1034 the same symbolic name as 1035, but
    /// its text is about callout DLLs failing to load; the variant is named
    /// after the text, the name string is kept as Windows spells it.
    1034  CalloutLoadFailed               "EVENT_SERVER_READ_ONLY_GROUP_ERROR"           Error;
    1035  ReadOnlyGroupError              "EVENT_SERVER_READ_ONLY_GROUP_ERROR"           Error;
    1036  AdminGroupError                 "EVENT_SERVER_ADMIN_GROUP_ERROR"               Error;
    1037  CleanupStarted                  "EVENT_SERVER_CLEANUP_STARTED"                 Info;
    1038  IpCleanupFinished               "EVENT_SERVER_IPCLEANUP_FINISHED"              Info;
    1039  McastCleanupFinished            "EVENT_SERVER_MCASTCLEANUP_FINISHED"           Info;
    1040  DatabaseRestoreSucceeded        "EVENT_SERVER_DATABASE_RESTORE_SUCCEEDED"      Info;
    1041  RogueNoNetwork                  "DHCP_ROGUE_EVENT_NO_NETWORK"                  Error;
    1042  RogueUnauthorizedInfo           "DHCP_ROGUE_EVENT_UNAUTHORIZED_INFO"           Warning;
    1043  RogueStarted                    "DHCP_ROGUE_EVENT_STARTED"                     Info;
    1044  RogueStartedDomain              "DHCP_ROGUE_EVENT_STARTED_DOMAIN"              Info;
    1045  RogueStopped                    "DHCP_ROGUE_EVENT_STOPPED"                     Error;
    1046  RogueStoppedDomain              "DHCP_ROGUE_EVENT_STOPPED_DOMAIN"              Error;
    1047  RogueJustUpgraded               "DHCP_ROGUE_EVENT_JUST_UPGRADED"               Warning;
    1048  RogueJustUpgradedDomain         "DHCP_ROGUE_EVENT_JUST_UPGRADED_DOMAIN"        Warning;
    1049  RogueCantFindDomain             "DHCP_ROGUE_EVENT_CANT_FIND_DOMAIN"            Error;
    1050  RogueNetworkFailure             "DHCP_ROGUE_EVENT_NETWORK_FAILURE"             Error;
    1051  RogueUnauthorized               "DHCP_ROGUE_EVENT_UNAUTHORIZED"                Error;
    1052  RogueOtherServer                "DHCP_ROGUE_EVENT_OTHER_SERVER"                Warning;
    1053  RogueSamOtherServer             "DHCP_ROGUE_EVENT_SAM_OTHER_SERVER"            Warning;
    1054  RogueShutdown                   "DHCP_ROGUE_EVENT_SHUTDOWN"                    Error;
    1055  DnsRegParamsFailure             "DHCP_EVENT_DNS_REGPARAMS_FAILURE"             Warning;
    1056  NoDnsCredentialsOnDc            "DHCP_EVENT_NO_DNSCREDENTIALS_ON_DC"           Warning;
    1057  DatabaseConversion              "EVENT_SERVER_DATABASE_CONVERSION"             Error;
    1058  InitConfigFailed                "EVENT_SERVER_INIT_CONFIG_FAILED"              Error;
    /// Windows spells this symbolic name without the leading `E`.
    1059  CouldntSeeDs                    "VENT_SERVER_COULDNT_SEE_DS"                   Error;
    1060  AuditLogPathNotAccessible       "EVENT_SERVER_AUDITLOG_PATH_NOT_ACCESSIBLE"    Error;
    1061  BackupPathNotAccessible         "EVENT_SERVER_BACKUP_PATH_NOT_ACCESSIBLE"      Error;
    1062  DbPathNotAccessible             "EVENT_SERVER_DB_PATH_NOT_ACCESSIBLE"          Error;
    1063  ScopeFull                       "EVENT_SERVER_SCOPE_FULL"                      Error;
    1064  BootpFull                       "EVENT_SERVER_BOOTP_FULL"                      Error;
    /// Windows misspells "orphaned" in the symbolic name.
    1065  OrphanedEntriesDeleted          "EVENT_SERVER_ORPHONED_ENTRIES_DELETED"        Warning;
    1144  NeedStaticIp                    "EVENT_SERVER_NEED_STATIC_IP"                  Warning;
    1338  OfferQueueFull                  "EVENT_SERVER_OFFER_QUEUE_FULL"                Error;
    1339  OfferQueueFunctional            "EVENT_SERVER_OFFER_QUEUE_FUNCTIONAL"          Info;
    1340  DnsDhcidFail                    "EVENT_SERVER_DNSDHCID_FAIL"                   Warning;
    1341  PolicyRangesFull                "EVENT_SERVER_POLICY_RANGES_FULL"              Error;
    1342  ResidualRangesFull              "EVENT_SERVER_RESIDUAL_RANGES_FULL"            Error;
    1343  PolicyRangesLowAddressWarning   "EVENT_SERVER_POLICY_RANGES_LOW_ADDRESS_WARNING" Warning;
    1344  DnsValidationFailed             "EVENT_SERVER_DNS_VALIDATION_FAILED"           Warning;
    1376  ResidualRangesLowAddressWarning "EVENT_SERVER_RESIDUAL_RANGES_LOW_ADDRESS_WARNING" Warning;
    1377  SuperscopeLowAddressWarning     "EVENT_SERVER_SUPERSCOPE_LOW_ADDRESS_WARNING"  Warning;
    /// Windows misspells "address" in the symbolic name.
    10000 V6AddressNacked                 "EVENT_DHCPV6_ADDERESS_NACKED"                 Warning;
    10001 V6RequestReceivedForAddressesNotLeased "EVENT_DHCPV6_REQUEST_RECEIVED_FOR_ADDRESSES_NOT_LEASED" Warning;
    10002 V6UnknownOption                 "EVENT_DHCPV6_SERVER_UNKNOWN_OPTION"           Info;
    10003 V6ScopeFull                     "EVENT_DHCPV6_SERVER_SCOPE_FULL"               Error;
    10004 V6LeaseDeclined                 "EVENT_DHCPV6_SERVER_LEASE_DECLINED"           Warning;
    10005 V6LowAddressWarning             "EVENT_DHCPV6_SERVER_LOW_ADDRESS_WARNING"      Warning;
    10006 V6ClientDelete                  "EVENT_DHCPV6_CLIENT_DELETE"                   Info;
    /// Windows uses this ID for IPv6 only; xdhcpd applies the same
    /// stale-request drop rule to IPv4 and reports it under this ID.
    10007 V6DropTimeout                   "EVENT_DHCPV6_DROP_TIMEOUT"                    Warning;
    10008 V6DropInvalid                   "EVENT_DHCPV6_DROP_INVALID"                    Warning;
    10009 V6DropWrongServer               "EVENT_DHCPV6_DROP_WRONG_SERVER"               Info;
    10010 V6DropUnicast                   "EVENT_DHCPV6_DROP_UNICAST"                    Warning;
    10011 V6AuditLogAppendFailed          "EVENT_DHCPV6_SERVER_AUDIT_LOG_APPEND_FAILED"  Error;
    10012 V6DropUnauth                    "EVENT_DHCPV6_DROP_UNAUTH"                     Warning;
    /// Windows writes `DHCPv6` with a lower-case `v` in this one name.
    10013 V6InitAuditLogFailed            "EVENT_DHCPv6_SERVER_INIT_AUDIT_LOG_FAILED"    Error;
    10014 V6MoveAuditLogFailed            "EVENT_DHCPV6_SERVER_MOVE_AUDIT_LOG_FAILED"    Warning;
    10015 V6AuditLogPathNotAccessible     "EVENT_DHCPV6_SERVER_AUDITLOG_PATH_NOT_ACCESSIBLE" Error;
    10016 V6InitWinsockFailed             "EVENT_DHCPV6_SERVER_INIT_WINSOCK_FAILED"      Error;
    10017 V6NoDnsCredentialsOnDc          "EVENT_DHCPV6_NO_DNSCREDENTIALS_ON_DC"         Warning;
    10018 V6InterfaceNotification         "EVENT_DHCPV6_SERVER_INTERFACE_NOTIFICATION"   Warning;
    10019 V6InitConfigFailed              "EVENT_DHCPV6_SERVER_INIT_CONFIG_FAILED"       Error;
    10020 V6NeedStaticIp                  "EVENT_DHCPV6_SERVER_NEED_STATIC_IP"           Warning;
    10021 V6InitDatabaseFailed            "EVENT_DHCPV6_SERVER_INIT_DATABASE_FAILED"     Error;
    10022 V6InitAndReady                  "EVENT_DHCPV6_SERVER_INIT_AND_READY"           Info;
    10023 V6PortUnavailable               "EVENT_DHCPV6_PORT_UNAVAILABLE"                Error;
    /// An end-of-range marker of the Windows IPv6 server error codes, listed
    /// in the catalogue (its text is its own name); never emitted.
    10024 V6LastServerError               "ERROR_LAST_DHCPV6_SERVER_ERROR"               Error;
    10025 V6DnsDhcidFail                  "EVENT_DHCPV6_DNSDHCID_FAIL"                   Warning;
    20090 PortUnavailable                 "EVENT_DHCP_PORT_UNAVAILABLE"                  Error;
    20098 FilterEmptyAllowList            "EVENT_FILTER_EMPTY_ALLOW_LIST"                Error;
    20251 ChangeFailoverRelationState     "DHCPv4.ChangeFailoverRelationState"           Info;
    20252 ChangeFailoverRelationStateError "DHCPv4.ChangeFailoverRelationStateError"     Error;
    20253 FailoverServerTimeSync          "DHCPv4.FailoverServerTimeSync"                Warning;
    20254 FailoverCommUp                  "DHCPv4.FailoverCommUp"                        Info;
    20255 FailoverCommDown                "DHCPv4.FailoverCommDown"                      Warning;
    20256 AuthFailedBndUpdMsgDigestFailedToCompare     "DHCPv4.AuthFailedBndUpdMsgDigestFailedToCompare"     Error;
    20257 AuthFailedBndUpdMsgDigestNotConfigured       "DHCPv4.AuthFailedBndUpdMsgDigestNotConfigured"       Error;
    20258 AuthFailedBndUpdMsgDigestNotPresent          "DHCPv4.AuthFailedBndUpdMsgDigestNotPresent"          Error;
    20259 ChangeFailoverRelationStateNoPrevState      "DHCPv4.ChangeFailoverRelationStateNoPrevState"       Info;
    20260 ChangeFailoverRelationStateErrorNoPrevState "DHCPv4.ChangeFailoverRelationStateErrorNoPrevState"  Error;
    20261 AuthFailedBndAckMsgDigestFailedToCompare     "DHCPv4.AuthFailedBndAckMsgDigestFailedToCompare"     Error;
    20262 AuthFailedBndAckMsgDigestNotConfigured       "DHCPv4.AuthFailedBndAckMsgDigestNotConfigured"       Error;
    20263 AuthFailedBndAckMsgDigestNotPresent          "DHCPv4.AuthFailedBndAckMsgDigestNotPresent"          Error;
    20264 AuthFailedConnectMsgDigestFailedToCompare    "DHCPv4.AuthFailedConnectMsgDigestFailedToCompare"    Error;
    20265 AuthFailedConnectMsgDigestNotConfigured      "DHCPv4.AuthFailedConnectMsgDigestNotConfigured"      Error;
    20266 AuthFailedConnectMsgDigestNotPresent         "DHCPv4.AuthFailedConnectMsgDigestNotPresent"         Error;
    20267 AuthFailedConnectAckMsgDigestFailedToCompare "DHCPv4.AuthFailedConnectAckMsgDigestFailedToCompare" Error;
    20268 AuthFailedConnectAckMsgDigestNotConfigured   "DHCPv4.AuthFailedConnectAckMsgDigestNotConfigured"   Error;
    20269 AuthFailedConnectAckMsgDigestNotPresent      "DHCPv4.AuthFailedConnectAckMsgDigestNotPresent"      Error;
    20270 AuthFailedUpdReqAllMsgDigestFailedToCompare  "DHCPv4.AuthFailedUpdReqAllMsgDigestFailedToCompare"  Error;
    20271 AuthFailedUpdReqAllMsgDigestNotConfigured    "DHCPv4.AuthFailedUpdReqAllMsgDigestNotConfigured"    Error;
    20272 AuthFailedUpdReqAllMsgDigestNotPresent       "DHCPv4.AuthFailedUpdReqAllMsgDigestNotPresent"       Error;
    20273 AuthFailedUpdDoneMsgDigestFailedToCompare    "DHCPv4.AuthFailedUpdDoneMsgDigestFailedToCompare"    Error;
    20274 AuthFailedUpdDoneMsgDigestNotConfigured      "DHCPv4.AuthFailedUpdDoneMsgDigestNotConfigured"      Error;
    20275 AuthFailedUpdDoneMsgDigestNotPresent         "DHCPv4.AuthFailedUpdDoneMsgDigestNotPresent"         Error;
    20276 AuthFailedUpdReqMsgDigestFailedToCompare     "DHCPv4.AuthFailedUpdReqMsgDigestFailedToCompare"     Error;
    20277 AuthFailedUpdReqMsgDigestNotConfigured       "DHCPv4.AuthFailedUpdReqMsgDigestNotConfigured"       Error;
    20278 AuthFailedUpdReqMsgDigestNotPresent          "DHCPv4.AuthFailedUpdReqMsgDigestNotPresent"          Error;
    20279 AuthFailedStateMsgDigestFailedToCompare      "DHCPv4.AuthFailedStateMsgDigestFailedToCompare"      Error;
    20280 AuthFailedStateMsgDigestNotConfigured        "DHCPv4.AuthFailedStateMsgDigestNotConfigured"        Error;
    20281 AuthFailedStateMsgDigestNotPresent           "DHCPv4.AuthFailedStateMsgDigestNotPresent"           Error;
    20282 AuthFailedContactMsgDigestFailedToCompare    "DHCPv4.AuthFailedContactMsgDigestFailedToCompare"    Error;
    20283 AuthFailedContactMsgDigestNotConfigured      "DHCPv4.AuthFailedContactMsgDigestNotConfigured"      Error;
    20284 AuthFailedContactMsgDigestNotPresent         "DHCPv4.AuthFailedContactMsgDigestNotPresent"         Error;
    20285 InvalidAlgorithmProvider        "DHCPv4.InvalidAlgorithmProvider"              Error;
    20286 FailoverClientLeaseDropped      "DHCPv4.FailoverClientLeaseDropped"            Error;
    20287 ClientRequestDropped            "DHCPv4.ClientRequestDropped"                  Error;
    20291 SendBndAckMessageRejectReason   "DHCPv4.SendBndAckMessageRejectReason"         Warning;
    20292 RecvBndAckMessageRejectReason   "DHCPv4.RecvBndAckMessageRejectReason"         Warning;
}

impl EventId {
    /// The Windows event ID.
    #[must_use]
    pub const fn id(self) -> u16 {
        self as u16
    }
}

impl From<EventId> for u16 {
    fn from(event: EventId) -> u16 {
        event.id()
    }
}

/// `1011 EVENT_SERVER_LEASE_NACK`
impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.id(), self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// The catalogue as extracted from the Windows page; outside the repo.
    const TSV: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/seeds/windows-dhcp-events.tsv"
    );
    /// The operator-facing table; inside the repo, so it must exist.
    const EVENTS_MD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/EVENTS.md");

    fn all_ids() -> Vec<u16> {
        EventId::ALL.iter().map(|e| e.id()).collect()
    }

    #[test]
    fn count_is_141() {
        assert_eq!(EventId::COUNT, 141);
        assert_eq!(EventId::ALL.len(), 141);
    }

    #[test]
    fn ids_unique_and_ascending() {
        let ids = all_ids();
        assert_eq!(ids.iter().collect::<HashSet<_>>().len(), ids.len());
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "table not in ID order");
    }

    #[test]
    fn from_id_round_trips() {
        for e in EventId::ALL {
            assert_eq!(EventId::from_id(e.id()), Some(e), "{e}");
            assert_eq!(u16::from(e), e.id());
        }
    }

    #[test]
    fn from_id_rejects_gaps() {
        let gaps = [0, 999, 1014, 1015, 1066, 10026, 20288, 20290, 20293];
        for id in gaps.into_iter().chain([u16::MAX]) {
            assert_eq!(EventId::from_id(id), None, "{id}");
        }
    }

    #[test]
    fn spot_checks() {
        let check = |id: u16, name: &str| {
            let e = EventId::from_id(id).unwrap();
            assert_eq!(e.name(), name);
        };
        check(1011, "EVENT_SERVER_LEASE_NACK");
        check(1338, "EVENT_SERVER_OFFER_QUEUE_FULL");
        check(20090, "EVENT_DHCP_PORT_UNAVAILABLE");
        check(1059, "VENT_SERVER_COULDNT_SEE_DS");
        check(1034, "EVENT_SERVER_READ_ONLY_GROUP_ERROR");
        check(1035, "EVENT_SERVER_READ_ONLY_GROUP_ERROR");
        check(20254, "DHCPv4.FailoverCommUp");
        assert_eq!(EventId::LeaseNack.id(), 1011);
        assert_eq!(EventId::RogueStopped.id(), 1045);
        assert_eq!(EventId::V6DropTimeout.id(), 10007);
        assert_eq!(EventId::FailoverCommUp.id(), 20254);
    }

    #[test]
    fn display() {
        assert_eq!(
            EventId::LeaseNack.to_string(),
            "1011 EVENT_SERVER_LEASE_NACK"
        );
        assert_eq!(
            EventId::FailoverCommDown.to_string(),
            "20255 DHCPv4.FailoverCommDown"
        );
        assert_eq!(Severity::Warning.to_string(), "warning");
    }

    #[test]
    fn severities() {
        use Severity::*;
        assert_eq!(EventId::InitAndReady.severity(), Info);
        assert_eq!(EventId::ScopeFull.severity(), Error);
        assert_eq!(EventId::LowAddressWarning.severity(), Warning);
        assert_eq!(EventId::LeaseNack.severity(), Warning);
        assert_eq!(EventId::LeaseDeclined.severity(), Warning);
        assert_eq!(EventId::LeaseRelease.severity(), Info);
        assert_eq!(EventId::OfferQueueFull.severity(), Error);
        assert_eq!(EventId::OfferQueueFunctional.severity(), Info);
    }

    #[test]
    fn only_the_known_duplicate_name() {
        let mut seen = HashSet::new();
        let dups: Vec<u16> = EventId::ALL
            .iter()
            .filter(|e| !seen.insert(e.name()))
            .map(|e| e.id())
            .collect();
        assert_eq!(dups, [1035]);
    }

    /// Every row of the Windows TSV matches the catalogue exactly, and the
    /// catalogue has no entry the TSV lacks. Skipped when the TSV is absent.
    #[test]
    fn matches_windows_tsv() {
        let text = match std::fs::read_to_string(TSV) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
            Err(e) => panic!("{TSV}: {e}"),
        };
        let mut lines = text.lines();
        assert_eq!(lines.next().map(str::trim_end), Some("id\tname\ttext"));
        let mut ids = Vec::new();
        for (n, line) in lines.enumerate() {
            let line = line.trim_end_matches('\r');
            if line.is_empty() {
                continue;
            }
            let mut cols = line.split('\t');
            let id: u16 = cols.next().unwrap().parse().unwrap_or_else(|e| {
                panic!("TSV row {}: bad id: {e}", n + 2);
            });
            let name = cols
                .next()
                .unwrap_or_else(|| panic!("TSV row {}: no name", n + 2));
            let e = EventId::from_id(id).unwrap_or_else(|| panic!("{id} missing"));
            assert_eq!(e.name(), name, "name of {id}");
            ids.push(id);
        }
        assert_eq!(ids, all_ids(), "TSV and catalogue differ in IDs or order");
    }

    /// `docs/EVENTS.md` has exactly one table row per event, in ID order, with
    /// the catalogue's symbolic name and level.
    #[test]
    fn matches_events_md() {
        let text =
            std::fs::read_to_string(EVENTS_MD).unwrap_or_else(|e| panic!("{EVENTS_MD}: {e}"));
        let mut ids = Vec::new();
        for line in text.lines() {
            let Some(row) = line.trim().strip_prefix('|') else {
                continue;
            };
            let cells: Vec<&str> = row.split('|').map(str::trim).collect();
            let Ok(id) = cells[0].parse::<u16>() else {
                continue;
            };
            let e = EventId::from_id(id).unwrap_or_else(|| panic!("EVENTS.md: unknown ID {id}"));
            assert_eq!(
                cells.get(1).map(|c| c.trim_matches('`')),
                Some(e.name()),
                "EVENTS.md: name of {id}"
            );
            assert_eq!(
                cells.get(2).copied(),
                Some(e.severity().as_str()),
                "EVENTS.md: level of {id}"
            );
            ids.push(id);
        }
        assert_eq!(
            ids,
            all_ids(),
            "EVENTS.md and catalogue differ in IDs or order"
        );
    }
}
