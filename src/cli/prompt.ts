import { createInterface } from 'node:readline/promises';

/** Asking the user for an email and a password on the terminal, or reading a password from a pipe. */

/** Longest password line read from stdin; the server refuses longer ones anyway (bytes). */
const MAX_STDIN_LINE = 64 * 1024;

export async function promptLine(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await rl.question(question)).trim();
  } finally {
    rl.close();
  }
}

/**
 * Reads a password on the terminal without echoing it: the TTY goes into raw mode so no keystroke is printed.
 * Backspace edits, Enter ends, Ctrl-C and Ctrl-D (on an empty line) abort.
 */
export function promptHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY)
    return Promise.reject(new Error('cannot prompt for a password: stdin is not a terminal (use --password-stdin)'));
  process.stderr.write(question);
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = (error: Error | null) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      if (error) reject(error);
      else resolve(value);
    };
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return finish(null);
        if (ch === '\u0003') return finish(new Error('cancelled'));
        if (ch === '\u0004') {
          if (value === '') return finish(new Error('cancelled'));
          continue;
        }
        if (ch === '\u007f' || ch === '\b') value = [...value].slice(0, -1).join('');
        else if (ch >= ' ') value += ch;
      }
    };
    stdin.setRawMode(true);
    stdin.resume();
    stdin.on('data', onData);
  });
}

/** The first line of stdin (`echo "$PASSWORD" | weir login --password-stdin`), without its line ending. */
export async function readStdinLine(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) {
    text += (chunk as Buffer).toString('utf8');
    const end = text.indexOf('\n');
    if (end >= 0) {
      text = text.slice(0, end);
      break;
    }
    if (text.length > MAX_STDIN_LINE) throw new Error('the first line of stdin is too long to be a password');
  }
  // Breaking out of the loop leaves stdin paused but readable; destroying it lets the process exit.
  process.stdin.destroy();
  return text.replace(/\r$/, '');
}
