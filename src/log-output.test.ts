import { describe, expect, it } from 'vitest';
import { logOutput, type LogStream } from './log-output.js';

function stream(isTTY: boolean, colors = isTTY): LogStream & { written: string } {
  const s = { isTTY, written: '', hasColors: () => colors, write: (chunk: string) => ((s.written += chunk), true) };
  return s;
}

const json = JSON.stringify({
  level: 'info',
  time: '2026-12-06T02:45:33.504Z',
  service: 'weir',
  msg: 'weir is listening',
});

describe('logOutput', () => {
  it('auto: JSON lines into a pipe or file, unchanged', () => {
    const out = stream(false);
    const o = logOutput('auto', out);
    o.destination.write(`${json}\n`);
    o.writeLine(json);
    expect(o.pretty).toBe(false);
    expect(out.written).toBe(`${json}\n${json}\n`);
  });

  it('auto: readable lines on a terminal, for the logger and for lines forwarded from the worker process alike', () => {
    const out = stream(true, false);
    const o = logOutput('auto', out);
    o.destination.write(`${json}\n`);
    o.writeLine(json);
    expect(o.pretty).toBe(true);
    expect(out.written).toBe('02:45:33.504 INFO  weir is listening\n02:45:33.504 INFO  weir is listening\n');
  });

  it('WEIR_LOG_FORMAT wins over the detection; colours only where the terminal has them', () => {
    const tty = stream(true);
    logOutput('json', tty).writeLine(json);
    expect(tty.written).toBe(`${json}\n`);
    const pipe = stream(false, true);
    logOutput('pretty', pipe).writeLine(json);
    expect(pipe.written).toBe('02:45:33.504 INFO  weir is listening\n');
    const coloured = stream(true, true);
    logOutput('auto', coloured).writeLine(json);
    expect(coloured.written).toContain('\u001b[32mINFO \u001b[0m');
  });
});
