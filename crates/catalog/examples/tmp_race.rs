use std::time::Duration;
fn main() {
    for round in 0..1000 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let hs: Vec<_> = (0..4)
            .map(|_| {
                let path = path.clone();
                std::thread::spawn(move || -> Result<(), String> {
                    let c = rusqlite::Connection::open(&path).map_err(|e| format!("open {e:?}"))?;
                    c.busy_timeout(Duration::from_secs(5)).unwrap();
                    let mut tries = 0;
                    let m: String = loop {
                        match c
                            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))
                        {
                            Ok(m) => break m,
                            Err(e) => {
                                tries += 1;
                                if tries > 100 {
                                    return Err(format!("wal {e:?}"));
                                }
                                std::thread::sleep(Duration::from_millis(10));
                            }
                        }
                    };
                    if m != "wal" {
                        return Err(format!("mode {m}"));
                    }
                    c.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")
                        .map_err(|e| format!("pragmas {e:?}"))?;
                    c.execute_batch("BEGIN IMMEDIATE; CREATE TABLE IF NOT EXISTS t(x); COMMIT;")
                        .map_err(|e| format!("begin {e:?}"))?;
                    let _ = m;
                    Ok(())
                })
            })
            .collect();
        for h in hs {
            if let Err(e) = h.join().unwrap() {
                println!("round {round}: {e}");
            }
        }
    }
}
