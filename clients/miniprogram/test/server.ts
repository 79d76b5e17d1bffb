/**
 * The real server for the SDK's tests: a fresh SQLite database in a temporary folder, migrated
 * and seeded with the demo accounts, the fake WeChat server on loopback, and daphne serving HTTP
 * and the socket on a free port in 8800-8899. stop()/start() restart daphne on the same port and
 * database, as a deploy would.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

// build/test/server.js → the repository.
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../../..");
const PYTHON = process.env.PYTHON ?? join(ROOT, ".venv/bin/python");
const PORTS = { first: 8800, last: 8899 };
/** Known to the tests so they can sign a token as the server does (an expired one). */
export const SECRET_KEY = "miniprogram-sdk-tests";

function portIsFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const probe = createServer();
    probe.once("error", () => done(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => done(true)));
  });
}

async function freePort(taken: number[] = []): Promise<number> {
  const span = PORTS.last - PORTS.first + 1;
  const start = Math.floor(Math.random() * span);
  for (let i = 0; i < span; i++) {
    const port = PORTS.first + ((start + i) % span);
    if (!taken.includes(port) && (await portIsFree(port))) return port;
  }
  throw new Error(`no free port in ${PORTS.first}-${PORTS.last}`);
}

function run(args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((done, fail) => {
    const child = spawn(PYTHON, args, { cwd: ROOT, env, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("exit", (code) => (code === 0 ? done() : fail(new Error(`${args.join(" ")} failed (${code}):\n${stderr}`))));
  });
}

function start(args: string[], env: NodeJS.ProcessEnv, name: string): ChildProcess {
  const child = spawn(PYTHON, args, { cwd: ROOT, env, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (chunk) => {
    // Kept short: shown only when the process dies early.
    stderr = (stderr + chunk).slice(-4000);
  });
  child.on("exit", (code, signal) => {
    if (code && signal === null) process.stderr.write(`${name} exited with ${code}:\n${stderr}\n`);
  });
  return child;
}

async function stopProcess(child: ChildProcess | null): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((done) => child.once("exit", done));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 10000);
  await exited;
  clearTimeout(timer);
}

async function waitFor(url: string, child: ChildProcess, seconds = 60): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the server exited (${child.exitCode}) before ${url} answered`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await response.arrayBuffer();
      return;
    } catch {
      await new Promise((wait) => setTimeout(wait, 200));
    }
  }
  throw new Error(`${url} did not answer within ${seconds} s`);
}

/**
 * The fake WeChat server on loopback (code2Session, phone numbers). The one place that knows
 * how it is started.
 */
async function startFakeWeChat(port: number, env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const child = start(["manage.py", "fake_wechat", "--port", String(port)], env, "fake WeChat");
  await waitFor(`http://127.0.0.1:${port}/`, child);
  return child;
}

export class Server {
  private daphne: ChildProcess | null = null;
  private fakeWeChat: ChildProcess | null = null;

  private constructor(
    readonly port: number,
    private readonly directory: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  static async create(): Promise<Server> {
    const directory = await mkdtemp(join(tmpdir(), "miniprogram-sdk-"));
    const wechatPort = await freePort();
    const port = await freePort([wechatPort]);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DEBUG: "1",
      SECRET_KEY,
      DATABASE_URL: `sqlite:///${join(directory, "db.sqlite3")}`,
      VAR_DIR: directory,
      MEDIA_ROOT: join(directory, "media"),
      // The in-memory channel layer: one daphne serves the API and the socket.
      REDIS_URL: "",
      WECHAT_API_BASE: `http://127.0.0.1:${wechatPort}`,
      LOG_LEVEL: "ERROR",
      PYTHONUNBUFFERED: "1",
    };
    const server = new Server(port, directory, env);
    await run(["manage.py", "migrate", "--noinput"], env);
    await run(["manage.py", "seed_demo"], env);
    server.fakeWeChat = await startFakeWeChat(wechatPort, env);
    await server.start();
    return server;
  }

  async start(): Promise<void> {
    this.daphne = start(
      ["-m", "daphne", "-b", "127.0.0.1", "-p", String(this.port), "--websocket-max-message-size=16384", "backend.asgi:application"],
      this.env,
      "daphne",
    );
    await waitFor(`${this.url}/healthz`, this.daphne);
  }

  async stop(): Promise<void> {
    await stopProcess(this.daphne);
    this.daphne = null;
  }

  async close(): Promise<void> {
    await this.stop();
    await stopProcess(this.fakeWeChat);
    await rm(this.directory, { recursive: true, force: true });
  }
}
