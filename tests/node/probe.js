// Connects with node-postgres exactly as the API does (a connection string, nothing else), runs
// the SQL statements given as a JSON array in argv[2], and prints one JSON line:
//   {"connected": true, "user": ..., "ssl": ..., "results": [{"ok": true} | {"code": "42501"}]}
//   {"connected": false, "code": "SELF_SIGNED_CERT_IN_CHAIN", "message": ...}
// The URL comes from DATABASE_URL; a relative sslrootcert resolves against the working directory.
const { Client } = require("pg");

async function main() {
  const statements = JSON.parse(process.argv[2] || "[]");
  let client;
  try {
    client = new Client({ connectionString: process.env.DATABASE_URL, connectionTimeoutMillis: 10000 });
    await client.connect();
  } catch (error) {
    return { connected: false, code: error.code || null, message: error.message };
  }
  try {
    const session = await client.query(
      "SELECT current_user AS user, ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
    );
    const results = [];
    for (const statement of statements) {
      try {
        await client.query(statement);
        results.push({ ok: true });
      } catch (error) {
        results.push({ ok: false, code: error.code, message: error.message });
      }
    }
    return { connected: true, user: session.rows[0].user, ssl: session.rows[0].ssl, results };
  } finally {
    await client.end();
  }
}

main().then((result) => console.log(JSON.stringify(result)));
