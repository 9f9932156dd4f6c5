// ClickHouse migrations may carry version-specific variants, because the server CI and Debian ship
// (18.16) lacks features newer servers have. A file is split by marker lines:
//
//   -- requires: 20.3        the section below runs on servers >= 20.3
//   -- else                  the section below runs when no earlier section's requirement is met
//
// The first section whose requirement the server meets wins. A file without markers is one
// section that runs everywhere. Text before the first marker may only be comments. In the SQL,
// `{database}` stands for the target database. Statements end with `;` at the end of a line
// (ClickHouse's HTTP interface takes one statement per request). ClickHouse has no transactions,
// so every statement must be safe to run twice (IF NOT EXISTS): two processes may migrate at once.
import { parseVersion, versionAtLeast, type Version } from './version.js';

export interface MigrationVariant {
  /** Minimum server version, null for an unconditional / `else` section */
  requires: Version | null;
  /** How the choice is recorded: `requires 20.3` or `base` */
  label: string;
  statements: string[];
}

const REQUIRES_RE = /^--\s*requires:\s*(\d+(?:\.\d+)*)\s*$/;
const ELSE_RE = /^--\s*else\s*$/;

export function parseVariants(sql: string, name: string): MigrationVariant[] {
  const sections: Array<{ requires: Version | null; label: string; lines: string[] }> = [];
  const preamble: string[] = [];
  for (const line of sql.split(/\r?\n/)) {
    const trimmed = line.trim();
    const req = REQUIRES_RE.exec(trimmed);
    if (req) {
      sections.push({ requires: parseVersion(req[1]!), label: `requires ${req[1]}`, lines: [] });
      continue;
    }
    if (ELSE_RE.test(trimmed)) {
      sections.push({ requires: null, label: 'base', lines: [] });
      continue;
    }
    (sections.length ? sections[sections.length - 1]!.lines : preamble).push(line);
  }
  if (sections.length === 0) return [{ requires: null, label: 'base', statements: splitStatements(preamble.join('\n')) }];
  if (splitStatements(preamble.join('\n')).length > 0) {
    throw new Error(`clickhouse migration ${name}: SQL before the first "-- requires:" marker`);
  }
  const variants = sections.map((s) => ({ requires: s.requires, label: s.label, statements: splitStatements(s.lines.join('\n')) }));
  if (variants[variants.length - 1]!.requires !== null) {
    throw new Error(`clickhouse migration ${name}: the last section must be "-- else" so every server version has one`);
  }
  variants.forEach((v, i) => {
    if (v.statements.length === 0) throw new Error(`clickhouse migration ${name}: section ${i + 1} (${v.label}) has no statement`);
    if (v.requires === null && i !== variants.length - 1) throw new Error(`clickhouse migration ${name}: "-- else" must be the last section`);
  });
  return variants;
}

export function chooseVariant(variants: MigrationVariant[], server: Version): MigrationVariant {
  const chosen = variants.find((v) => v.requires === null || versionAtLeast(server, v.requires));
  if (!chosen) throw new Error('clickhouse migration: no variant for this server version');
  return chosen;
}

/** The statements with `{database}` replaced by the (already validated, quoted) database. */
export function renderStatements(variant: MigrationVariant, databaseIdent: string): string[] {
  return variant.statements.map((s) => s.replaceAll('{database}', databaseIdent));
}

function splitStatements(sql: string): string[] {
  const withoutComments = sql
    .split(/\r?\n/)
    .filter((l) => !l.trim().startsWith('--'))
    .join('\n');
  return withoutComments
    .split(/;[ \t]*(?:\r?\n|$)/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}
