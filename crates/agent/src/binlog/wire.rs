//! The replica connection: the MySQL protocol's handshake, a few statements, then
//! `COM_BINLOG_DUMP`, with each event handed over as the bytes the source's file holds.
//!
//! Hand-written on `mysql_common`'s packets rather than `mysql_async`'s `BinlogStream`: that one
//! cannot ask MariaDB for its annotate-rows events (dump flag 2, which `mysql_common`'s
//! `BinlogRequest` drops), and MariaDB then leaves them out of the stream, so the stored file
//! would have holes where the source's has events; it also hands events over parsed, where the
//! streamer stores bytes. Plain TCP and password plugins only, like the rest of the agent.

use bytes::BytesMut;
use mysql_common::constants::CapabilityFlags;
use mysql_common::io::ParseBuf;
use mysql_common::packets::{
    AuthPlugin, AuthSwitchRequest, BinlogDumpFlags, ComBinlogDump, ComRegisterSlave, ErrPacket,
    HandshakePacket, HandshakeResponse,
};
use mysql_common::proto::codec::PacketCodec;
use mysql_common::proto::MySerialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use xbak_domain::Dsn;

/// `COM_QUERY`.
const COM_QUERY: u8 = 0x03;
/// MariaDB's `BINLOG_SEND_ANNOTATE_ROWS_EVENT`: the same bit as MySQL's `BINLOG_THROUGH_POSITION`,
/// which is how `mysql_common` names it.
const SEND_ANNOTATE_ROWS: BinlogDumpFlags = BinlogDumpFlags::BINLOG_THROUGH_POSITION;
/// Largest packet the source may send: events up to MariaDB's `max_allowed_packet` ceiling (1 GiB).
const MAX_PACKET: usize = 1 << 30;

/// A failure on the replica connection.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("replica connection to {endpoint}: {source}")]
    Io {
        endpoint: String,
        source: std::io::Error,
    },
    /// The server answered with an error packet.
    #[error("replica connection to {endpoint}: ERROR {code}: {message}")]
    Server {
        endpoint: String,
        code: u16,
        message: String,
    },
    #[error("replica connection to {endpoint}: {what}")]
    Protocol { endpoint: String, what: String },
}

impl WireError {
    /// The server's error code, if the server refused.
    pub fn server_code(&self) -> Option<u16> {
        match self {
            WireError::Server { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// An authenticated connection, before or after it turned into a binlog stream.
pub struct ReplicaConnection {
    stream: TcpStream,
    codec: PacketCodec,
    read: BytesMut,
    capabilities: CapabilityFlags,
    endpoint: String,
}

impl ReplicaConnection {
    /// Connects and logs in as the DSN's user.
    pub async fn connect(dsn: &Dsn) -> Result<ReplicaConnection, WireError> {
        let endpoint = dsn.to_string();
        let stream = TcpStream::connect((dsn.host.as_str(), dsn.port))
            .await
            .map_err(|source| WireError::Io {
                endpoint: endpoint.clone(),
                source,
            })?;
        stream.set_nodelay(true).ok();
        let mut codec = PacketCodec::default();
        codec.max_allowed_packet = MAX_PACKET;
        let mut conn = ReplicaConnection {
            stream,
            codec,
            read: BytesMut::with_capacity(64 * 1024),
            capabilities: CapabilityFlags::empty(),
            endpoint,
        };
        conn.log_in(dsn).await?;
        Ok(conn)
    }

    async fn log_in(&mut self, dsn: &Dsn) -> Result<(), WireError> {
        let packet = self.read_packet().await?;
        if packet.first() == Some(&0xff) {
            return Err(self.server_error(&packet));
        }
        let handshake: HandshakePacket = ParseBuf(&packet)
            .parse(())
            .map_err(|e| self.protocol(format!("unreadable handshake: {e}")))?;
        let mut nonce = handshake.scramble_1_ref().to_vec();
        nonce.extend_from_slice(handshake.scramble_2_ref().unwrap_or_default());
        nonce.resize(20, 0);
        let wanted = CapabilityFlags::CLIENT_PROTOCOL_41
            | CapabilityFlags::CLIENT_SECURE_CONNECTION
            | CapabilityFlags::CLIENT_PLUGIN_AUTH
            | CapabilityFlags::CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA
            | CapabilityFlags::CLIENT_LONG_PASSWORD
            | CapabilityFlags::CLIENT_LONG_FLAG
            | CapabilityFlags::CLIENT_TRANSACTIONS;
        self.capabilities = handshake.capabilities() & wanted;
        let plugin = match handshake.auth_plugin() {
            Some(AuthPlugin::CachingSha2Password) => AuthPlugin::CachingSha2Password,
            _ => AuthPlugin::MysqlNativePassword,
        };
        let password = dsn.password.as_deref();
        let data = plugin.gen_data(password, &nonce);
        let version = handshake
            .maria_db_server_version_parsed()
            .or_else(|| handshake.server_version_parsed())
            .unwrap_or((0, 0, 0));
        let response = HandshakeResponse::new(
            data.as_deref(),
            version,
            Some(dsn.user.as_bytes()),
            None::<&[u8]>,
            Some(plugin),
            self.capabilities,
            None,
            MAX_PACKET as u32,
        );
        self.write(&serialized(&response)).await?;
        let mut switched = false;
        loop {
            let packet = self.read_packet().await?;
            match packet.first() {
                Some(0x00) => return Ok(()),
                Some(0xff) => return Err(self.server_error(&packet)),
                // caching_sha2_password's "fast auth success"; its OK follows.
                Some(0x01) if packet.get(1) == Some(&0x03) => continue,
                Some(0xfe) if !switched => {
                    switched = true;
                    let request: AuthSwitchRequest = ParseBuf(&packet)
                        .parse(())
                        .map_err(|e| self.protocol(format!("unreadable auth switch: {e}")))?;
                    let plugin = request.auth_plugin().into_owned();
                    let data = match plugin {
                        AuthPlugin::MysqlNativePassword | AuthPlugin::CachingSha2Password => {
                            plugin.gen_data(password, request.plugin_data())
                        }
                        other => {
                            return Err(self.protocol(format!(
                                "the account authenticates with {}, which the binlog \
                                 streamer does not speak (use mysql_native_password)",
                                String::from_utf8_lossy(other.as_bytes())
                            )))
                        }
                    };
                    let mut bytes = Vec::new();
                    if let Some(data) = data {
                        data.serialize(&mut bytes);
                    }
                    self.write(&bytes).await?;
                }
                _ => return Err(self.protocol("unexpected answer while logging in".into())),
            }
        }
    }

    /// Runs a statement that returns no rows.
    pub async fn execute(&mut self, sql: &str) -> Result<(), WireError> {
        let mut command = vec![COM_QUERY];
        command.extend_from_slice(sql.as_bytes());
        self.command(&command).await
    }

    /// Registers as replica `server_id`, then asks for the binlog from `file` at `offset`
    /// (annotate-rows events included). Events follow through [`next_event`](Self::next_event).
    pub async fn dump(&mut self, server_id: u32, file: &str, offset: u64) -> Result<(), WireError> {
        self.command(&serialized(&ComRegisterSlave::new(server_id)))
            .await?;
        let offset = u32::try_from(offset)
            .map_err(|_| self.protocol(format!("offset {offset} is beyond 4 GiB")))?;
        let dump = ComBinlogDump::new(server_id)
            .with_pos(offset)
            .with_flags(SEND_ANNOTATE_ROWS)
            .with_filename(file.as_bytes());
        self.codec.reset_seq_id();
        self.write(&serialized(&dump)).await
    }

    /// The next event's bytes; `None` once the source ended the stream.
    pub async fn next_event(&mut self) -> Result<Option<Vec<u8>>, WireError> {
        let mut packet = self.read_packet().await?;
        match packet.first() {
            Some(0x00) => {
                packet.remove(0);
                Ok(Some(packet))
            }
            Some(0xff) => Err(self.server_error(&packet)),
            Some(0xfe) if packet.len() < 9 => Ok(None),
            _ => Err(self.protocol("unexpected packet in the binlog stream".into())),
        }
    }

    /// Sends a command and reads its OK.
    async fn command(&mut self, payload: &[u8]) -> Result<(), WireError> {
        self.codec.reset_seq_id();
        self.write(payload).await?;
        let answer = self.read_packet().await?;
        match answer.first() {
            Some(0x00) => Ok(()),
            Some(0xff) => Err(self.server_error(&answer)),
            _ => Err(self.protocol("the statement returned rows".into())),
        }
    }

    async fn write(&mut self, payload: &[u8]) -> Result<(), WireError> {
        let mut out = BytesMut::with_capacity(payload.len() + 4);
        self.codec
            .encode(&mut &payload[..], &mut out)
            .map_err(|e| self.protocol(e.to_string()))?;
        self.stream.write_all(&out).await.map_err(|e| self.io(e))
    }

    async fn read_packet(&mut self) -> Result<Vec<u8>, WireError> {
        let mut packet = Vec::new();
        loop {
            let done = self
                .codec
                .decode(&mut self.read, &mut packet)
                .map_err(|e| self.protocol(e.to_string()))?;
            if done {
                return Ok(packet);
            }
            let n = self
                .stream
                .read_buf(&mut self.read)
                .await
                .map_err(|e| self.io(e))?;
            if n == 0 {
                let closed = std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the server closed the connection",
                );
                return Err(self.io(closed));
            }
        }
    }

    fn server_error(&self, packet: &[u8]) -> WireError {
        match ParseBuf(packet).parse::<ErrPacket>(self.capabilities) {
            Ok(ErrPacket::Error(e)) => WireError::Server {
                endpoint: self.endpoint.clone(),
                code: e.error_code(),
                message: e.message_str().into_owned(),
            },
            _ => self.protocol("unreadable error packet".into()),
        }
    }

    fn protocol(&self, what: String) -> WireError {
        WireError::Protocol {
            endpoint: self.endpoint.clone(),
            what,
        }
    }

    fn io(&self, source: std::io::Error) -> WireError {
        WireError::Io {
            endpoint: self.endpoint.clone(),
            source,
        }
    }
}

fn serialized(packet: &impl MySerialize) -> Vec<u8> {
    let mut bytes = Vec::new();
    packet.serialize(&mut bytes);
    bytes
}
