/*
 * mysql.h - constants of the MySQL/MariaDB client/server protocol:
 * capability flags, status flags, command bytes, packet headers.
 */
#ifndef CUTOVER_MYSQL_H
#define CUTOVER_MYSQL_H

/* capability flags (lower 32 bits, both MySQL and MariaDB) */
#define CAP_LONG_PASSWORD                  (1u << 0)  /* MariaDB: CLIENT_MYSQL */
#define CAP_FOUND_ROWS                     (1u << 1)
#define CAP_LONG_FLAG                      (1u << 2)
#define CAP_CONNECT_WITH_DB                (1u << 3)
#define CAP_NO_SCHEMA                      (1u << 4)
#define CAP_COMPRESS                       (1u << 5)
#define CAP_ODBC                           (1u << 6)
#define CAP_LOCAL_FILES                    (1u << 7)
#define CAP_IGNORE_SPACE                   (1u << 8)
#define CAP_PROTOCOL_41                    (1u << 9)
#define CAP_INTERACTIVE                    (1u << 10)
#define CAP_SSL                            (1u << 11)
#define CAP_IGNORE_SIGPIPE                 (1u << 12)
#define CAP_TRANSACTIONS                   (1u << 13)
#define CAP_RESERVED                       (1u << 14)
#define CAP_SECURE_CONNECTION              (1u << 15)
#define CAP_MULTI_STATEMENTS               (1u << 16)
#define CAP_MULTI_RESULTS                  (1u << 17)
#define CAP_PS_MULTI_RESULTS               (1u << 18)
#define CAP_PLUGIN_AUTH                    (1u << 19)
#define CAP_CONNECT_ATTRS                  (1u << 20)
#define CAP_PLUGIN_AUTH_LENENC_CLIENT_DATA (1u << 21)
#define CAP_CAN_HANDLE_EXPIRED_PASSWORDS   (1u << 22)
#define CAP_SESSION_TRACK                  (1u << 23)
#define CAP_DEPRECATE_EOF                  (1u << 24)
#define CAP_OPTIONAL_RESULTSET_METADATA    (1u << 25)
#define CAP_ZSTD_COMPRESSION               (1u << 26)
#define CAP_QUERY_ATTRIBUTES               (1u << 27)
#define CAP_MULTI_FACTOR_AUTH              (1u << 28)
#define CAP_CAPABILITY_EXTENSION           (1u << 29)
#define CAP_SSL_VERIFY_SERVER_CERT         (1u << 30)
#define CAP_REMEMBER_OPTIONS               (1u << 31)

/*
 * Capabilities the proxy relays.  Everything else is masked in the
 * greeting (so clients never ask for it) and in the client's reply.
 * CAP_SSL is decided per link by the TLS settings, not by this mask.
 * Not relayed: compression, optional result-set metadata, query
 * attributes, multi-factor auth, and the MariaDB extended capabilities
 * not in MDB_EXT_RELAYED (progress reports, bulk operations).
 */
#define CAP_RELAYED (CAP_LONG_PASSWORD | CAP_FOUND_ROWS | CAP_LONG_FLAG | \
	CAP_CONNECT_WITH_DB | CAP_NO_SCHEMA | CAP_ODBC | CAP_LOCAL_FILES | \
	CAP_IGNORE_SPACE | CAP_PROTOCOL_41 | CAP_INTERACTIVE | \
	CAP_IGNORE_SIGPIPE | CAP_TRANSACTIONS | CAP_RESERVED | \
	CAP_SECURE_CONNECTION | CAP_MULTI_STATEMENTS | CAP_MULTI_RESULTS | \
	CAP_PS_MULTI_RESULTS | CAP_PLUGIN_AUTH | CAP_CONNECT_ATTRS | \
	CAP_PLUGIN_AUTH_LENENC_CLIENT_DATA | CAP_CAN_HANDLE_EXPIRED_PASSWORDS | \
	CAP_SESSION_TRACK | CAP_DEPRECATE_EOF | CAP_SSL_VERIFY_SERVER_CERT | \
	CAP_REMEMBER_OPTIONS)

/*
 * MariaDB's extended capabilities: 4 more bytes of flags (bits 32 to 63)
 * in the greeting and the client's response, read only when CLIENT_MYSQL
 * (CAP_LONG_PASSWORD) is clear on both sides.  Relayed: extended metadata
 * (each column definition carries a string of type info after its name:
 * JSON, UUID, INET6, POINT...) and the metadata cache (a result set's
 * column count is followed by a byte that says whether the column
 * definitions follow: a prepared statement executed again with the same
 * metadata skips them).  Masked: progress reports and bulk execute.
 */
#define MDB_EXTENDED_METADATA              (1u << 3)   /* bit 35 */
#define MDB_CACHE_METADATA                 (1u << 4)   /* bit 36 */
#define MDB_EXT_RELAYED                    (MDB_EXTENDED_METADATA | MDB_CACHE_METADATA)

/* server status flags */
#define SERVER_STATUS_IN_TRANS             0x0001
#define SERVER_STATUS_AUTOCOMMIT           0x0002
#define SERVER_MORE_RESULTS_EXISTS         0x0008
#define SERVER_STATUS_NO_GOOD_INDEX_USED   0x0010
#define SERVER_STATUS_NO_INDEX_USED        0x0020
#define SERVER_STATUS_CURSOR_EXISTS        0x0040
#define SERVER_STATUS_LAST_ROW_SENT        0x0080
#define SERVER_STATUS_DB_DROPPED           0x0100
#define SERVER_STATUS_NO_BACKSLASH_ESCAPES 0x0200
#define SERVER_STATUS_METADATA_CHANGED     0x0400
#define SERVER_QUERY_WAS_SLOW              0x0800
#define SERVER_PS_OUT_PARAMS               0x1000
#define SERVER_STATUS_IN_TRANS_READONLY    0x2000
#define SERVER_SESSION_STATE_CHANGED       0x4000

/* commands */
#define COM_SLEEP               0x00
#define COM_QUIT                0x01
#define COM_INIT_DB             0x02
#define COM_QUERY               0x03
#define COM_FIELD_LIST          0x04
#define COM_CREATE_DB           0x05
#define COM_DROP_DB             0x06
#define COM_REFRESH             0x07
#define COM_SHUTDOWN            0x08
#define COM_STATISTICS          0x09
#define COM_PROCESS_INFO        0x0a
#define COM_CONNECT             0x0b
#define COM_PROCESS_KILL        0x0c
#define COM_DEBUG               0x0d
#define COM_PING                0x0e
#define COM_TIME                0x0f
#define COM_DELAYED_INSERT      0x10
#define COM_CHANGE_USER         0x11
#define COM_BINLOG_DUMP         0x12
#define COM_TABLE_DUMP          0x13
#define COM_CONNECT_OUT         0x14
#define COM_REGISTER_SLAVE      0x15
#define COM_STMT_PREPARE        0x16
#define COM_STMT_EXECUTE        0x17
#define COM_STMT_SEND_LONG_DATA 0x18
#define COM_STMT_CLOSE          0x19
#define COM_STMT_RESET          0x1a
#define COM_SET_OPTION          0x1b
#define COM_STMT_FETCH          0x1c
#define COM_DAEMON              0x1d
#define COM_BINLOG_DUMP_GTID    0x1e
#define COM_RESET_CONNECTION    0x1f
#define COM_STMT_BULK_EXECUTE   0xfa  /* MariaDB */
#define COM__COUNT              0x20  /* command bytes counted by stats */

/* first byte of a response packet */
#define PKT_OK        0x00
#define PKT_AUTH_MORE 0x01
#define PKT_INFILE    0xfb
#define PKT_EOF       0xfe  /* also auth switch request, and OK with DEPRECATE_EOF */
#define PKT_ERR       0xff

#define PKT_HEADER_LEN  4
#define PKT_MAX_PAYLOAD 0xffffffu

/* cursor types in COM_STMT_EXECUTE flags */
#define CURSOR_TYPE_READ_ONLY 0x01

/* error codes the proxy sends itself */
#define ER_CON_COUNT_ERROR        1040
#define ER_HANDSHAKE_ERROR        1043
#define ER_ACCESS_DENIED_ERROR    1045
#define ER_UNKNOWN_COM_ERROR      1047
#define ER_NET_PACKET_TOO_LARGE   1153
#define ER_NET_READ_ERROR         1158
#define ER_NET_READ_INTERRUPTED   1159
#define ER_SERVER_SHUTDOWN        1053
#define ER_MALFORMED_PACKET       1835
#define ER_LOCK_WAIT_TIMEOUT      1205
#define ER_LOCK_DEADLOCK          1213
#define ER_SECURE_TRANSPORT_REQUIRED 3159
#define ER_UNKNOWN_ERROR          1105
/* "backend unreachable": a server-range code, because Connector/C reports
 * client-range codes (2000-2999) in an error packet as a malformed packet */
#define ER_PROXY_BACKEND          ER_UNKNOWN_ERROR

#endif
