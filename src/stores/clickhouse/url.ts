// `IBEX_CLICKHOUSE_URL` is `http(s)://[user[:password]@]host:8123/DATABASE`: the database comes from
// the path (else `default`), credentials from the userinfo. The password never leaves this module
// except towards the client; `display` is what logs and `describe()` show.
export interface ClickHouseTarget {
  /** protocol://host:port, no credentials, no path */
  origin: string;
  username: string | undefined;
  password: string | undefined;
  database: string;
  /** origin + /database, no credentials */
  display: string;
}

/** ClickHouse identifiers we accept unquoted, so a database name can never smuggle SQL. */
const IDENT_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function parseClickHouseUrl(raw: string): ClickHouseTarget {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error('clickhouse: the URL is not valid (expected http://host:8123/DATABASE)');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`clickhouse: unsupported protocol ${url.protocol} (expected http: or https:)`);
  }
  const path = decodeURIComponent(url.pathname.replace(/^\/+|\/+$/g, ''));
  const database = path === '' ? 'default' : path;
  if (!IDENT_RE.test(database)) {
    throw new Error(`clickhouse: invalid database name "${database}" in the URL path (letters, digits and _ only)`);
  }
  const origin = `${url.protocol}//${url.host}`;
  return {
    origin,
    username: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    database,
    display: `${origin}/${database}`,
  };
}

/** Quotes an identifier already checked against IDENT_RE. */
export function ident(name: string): string {
  if (!IDENT_RE.test(name)) throw new Error(`clickhouse: invalid identifier "${name}"`);
  return `\`${name}\``;
}

/** A ClickHouse string literal. Old servers (18.x) have no query parameters, so values are escaped. */
export function quote(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
