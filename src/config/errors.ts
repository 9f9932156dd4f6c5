// The one error `ibex.yaml` loading throws. It is a UserError (one line + hint, exit 1 from the CLI)
// that carries every problem found, each with the file, line, column and key path, so the message is
// enough to go and fix the file.
import { UserError } from '../errors.js';

export interface ConfigIssue {
  /** 1-based */
  line: number;
  /** 1-based */
  col: number;
  /** `providers.backup.keys[1]`; '' for the document itself */
  path: string;
  message: string;
}

/** `ibex.yaml:12:5: providers.backup.kind: …` */
export function formatIssue(file: string, issue: ConfigIssue): string {
  return `${file}:${issue.line}:${issue.col}: ${issue.path ? issue.path + ': ' : ''}${issue.message}`;
}

export class ConfigFileError extends UserError {
  constructor(
    readonly file: string,
    /** At least one; in document order */
    readonly issues: readonly ConfigIssue[],
  ) {
    super(issues.map((i) => formatIssue(file, i)).join('\n'), 'fix the file (secrets go in environment variables, written as "${VAR}"); see docs/providers.md');
    this.name = 'ConfigFileError';
  }

  get line(): number {
    return this.issues[0]!.line;
  }

  get col(): number {
    return this.issues[0]!.col;
  }

  get path(): string {
    return this.issues[0]!.path;
  }

  /** The first issue on one line, for logs: `…: message (+2 more)` */
  oneLine(): string {
    const more = this.issues.length > 1 ? ` (+${this.issues.length - 1} more)` : '';
    return formatIssue(this.file, this.issues[0]!) + more;
  }
}
