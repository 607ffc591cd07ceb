// What the SDK fidelity tests share: starting `lightsout twin serve` as a
// child process and reading the base URL and key from its export lines.
//
//   LIGHTSOUT  the binary (default: ../../bin/lightsout from this file)
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const here = path.dirname(fileURLToPath(import.meta.url));
export const LIGHTSOUT = process.env.LIGHTSOUT || path.resolve(here, '../../bin/lightsout');

// The environment variables each provider's export lines set.
const EXPORTS = {
  anthropic: ['ANTHROPIC_BASE_URL', 'ANTHROPIC_API_KEY'],
  openai: ['OPENAI_BASE_URL', 'OPENAI_API_KEY'],
  gemini: ['GEMINI_BASE_URL', 'GEMINI_API_KEY'],
};

// Start a twin of provider on an ephemeral port with tapes/<provider>.jsonl
// and the one key accepted; resolve with {url, key, stderr(), stop()} once
// it has printed its export lines. stop() sends SIGINT and resolves with
// the exit code. Faults gated on `match.call: 1` get a fresh twin of their
// own, so they do not depend on how many calls other tests made.
export function startTwin(provider, key, extra = []) {
  const tape = path.join(here, 'tapes', `${provider}.jsonl`);
  const [urlVar, keyVar] = EXPORTS[provider];
  return new Promise((resolve, reject) => {
    const child = spawn(
      LIGHTSOUT,
      ['twin', 'serve', provider, '--port', '0', '--tape', tape, '--api-key', key, ...extra],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    let done = false;
    const exited = new Promise((res) => child.on('exit', (code, sig) => res(sig ? sig : code)));
    const fail = (why) => {
      if (done) return;
      done = true;
      child.kill('SIGKILL');
      reject(new Error(`${why}\nstdout: ${out}\nstderr: ${err}`));
    };
    const timer = setTimeout(() => fail('the twin printed no base URL within 10 s'), 10000);
    child.on('error', (e) => fail(`cannot run ${LIGHTSOUT}: ${e.message}`));
    child.on('exit', (code) => fail(`the twin exited (${code}) before printing its base URL`));
    child.stderr.on('data', (d) => (err += d));
    child.stdout.on('data', (d) => {
      out += d;
      const url = new RegExp(`^export ${urlVar}=(\\S+)$`, 'm').exec(out);
      const k = new RegExp(`^export ${keyVar}=(\\S+)$`, 'm').exec(out);
      if (!url || !k || done) return;
      done = true;
      clearTimeout(timer);
      resolve({
        url: url[1],
        key: k[1],
        stderr: () => err,
        stop: async () => {
          child.kill('SIGINT');
          return exited;
        },
      });
    });
  });
}
