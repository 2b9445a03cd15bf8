import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { createServer as createTlsServer } from "node:tls";

/**
 * A real MQTT broker for tests: mosquitto on a free loopback port with on-disk persistence (so a restart
 * keeps QoS 1 sessions and their queued messages), or, when the binary is missing, aedes in-process with a
 * printed notice. Usage: `const broker = await startBroker(); broker.url; await broker.restart(); await broker.stop();`
 */
export interface TestBroker {
  readonly kind: "mosquitto" | "aedes";
  /** `mqtt://127.0.0.1:<port>`, or `mqtts://…` for a TLS broker. */
  readonly url: string;
  /** The CA that signed a TLS broker's certificate. */
  readonly caFile: string | undefined;
  readonly port: number;
  /** Stops the broker cleanly (sessions are saved) and starts it again on the same port. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface StartBrokerOptions {
  /** When set, the broker refuses anonymous clients and every credential but this one. */
  readonly auth?: { readonly username: string; readonly password: string };
  /** False makes a restart forget every session and retained message, like a broker without persistence. */
  readonly persistence?: boolean;
  /**
   * Refuse every subscription in its SUBACK. Always aedes: mosquitto grants wildcard subscriptions whatever its
   * ACL says and filters at delivery instead.
   */
  readonly denySubscriptions?: boolean;
  /** Serve MQTT over TLS with a certificate for 127.0.0.1 from a throwaway CA (needs the `openssl` command). */
  readonly tls?: boolean;
}

interface TlsFiles {
  readonly dir: string;
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
}

/** Whether `startBroker({ tls: true })` can work here. */
export function canMakeCertificates(): boolean {
  return findBinary("openssl") !== undefined;
}

function makeCertificates(): TlsFiles {
  const openssl = findBinary("openssl");
  if (openssl === undefined) throw new Error("openssl is needed for a TLS broker");
  const dir = mkdtempSync(join(tmpdir(), "pma-mqtt-tls-"));
  const file = (name: string) => join(dir, name);
  const run = (...args: string[]) => execFileSync(openssl, args, { stdio: "ignore" });
  run(
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "2",
    "-subj",
    "/CN=pma-bridge test CA",
    "-keyout",
    file("ca.key"),
    "-out",
    file("ca.crt"),
  );
  run(
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-subj",
    "/CN=127.0.0.1",
    "-keyout",
    file("server.key"),
    "-out",
    file("server.csr"),
  );
  writeFileSync(file("ext.cnf"), "subjectAltName=IP:127.0.0.1\n");
  run(
    "x509",
    "-req",
    "-days",
    "2",
    "-in",
    file("server.csr"),
    "-CA",
    file("ca.crt"),
    "-CAkey",
    file("ca.key"),
    "-CAcreateserial",
    "-extfile",
    file("ext.cnf"),
    "-out",
    file("server.crt"),
  );
  return { dir, caFile: file("ca.crt"), certFile: file("server.crt"), keyFile: file("server.key") };
}

const READY_TIMEOUT_MS = 10_000;

export async function startBroker(options: StartBrokerOptions = {}): Promise<TestBroker> {
  // PMA_TEST_MQTT_BROKER=aedes forces the fallback, to check that it works where mosquitto is installed.
  const binary = process.env.PMA_TEST_MQTT_BROKER === "aedes" ? undefined : findBinary("mosquitto");
  const tls = options.tls === true ? makeCertificates() : undefined;
  if (options.denySubscriptions === true) return startAedes(await freePort(), options, tls);
  if (binary === undefined) {
    const why =
      process.env.PMA_TEST_MQTT_BROKER === "aedes" ? "PMA_TEST_MQTT_BROKER=aedes" : "mosquitto not found";
    process.stdout.write(`[pma-bridge tests] ${why}: MQTT tests use the embedded aedes broker instead\n`);
  }
  // A probed free port can be taken by another process before the broker binds it: try another one then.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      return binary === undefined
        ? await startAedes(port, options, tls)
        : await startMosquitto(binary, port, options, tls);
    } catch (error) {
      if (attempt >= 3) throw error;
    }
  }
}

function findBinary(name: string): string | undefined {
  const dirs = ["/usr/sbin", "/usr/bin", ...(process.env.PATH ?? "").split(delimiter)];
  const candidates = dirs.map((dir) => join(dir, name));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; try the next place
    }
  }
  return undefined;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== "object" || address === null) throw new Error("could not find a free port");
  return address.port;
}

async function waitForPort(port: number, exited: () => string | undefined): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const failure = exited();
    if (failure !== undefined) throw new Error(failure);
    const open = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ port, host: "127.0.0.1" });
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline)
      throw new Error(`broker did not listen on port ${port} within ${READY_TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function startMosquitto(
  binary: string,
  port: number,
  { auth, persistence = true }: StartBrokerOptions,
  tls: TlsFiles | undefined,
): Promise<TestBroker> {
  const dir = mkdtempSync(join(tmpdir(), "pma-mosquitto-"));
  const configFile = join(dir, "mosquitto.conf");
  const passwordFile = join(dir, "passwords");
  if (auth !== undefined) {
    const passwd = findBinary("mosquitto_passwd");
    if (passwd === undefined) throw new Error("mosquitto_passwd is needed for a broker with credentials");
    execFileSync(passwd, ["-b", "-c", passwordFile, auth.username, auth.password], { stdio: "ignore" });
  }
  const lines = [
    `listener ${port} 127.0.0.1`,
    ...(auth === undefined
      ? ["allow_anonymous true"]
      : ["allow_anonymous false", `password_file ${passwordFile}`]),
    ...(tls === undefined
      ? []
      : [`cafile ${tls.caFile}`, `certfile ${tls.certFile}`, `keyfile ${tls.keyFile}`]),
    `persistence ${persistence}`,
    `persistence_location ${dir}/`,
    "log_dest stderr",
    "log_type error",
    "log_type warning",
    // Running as root, mosquitto would switch to the `mosquitto` user, which cannot write the temp dir.
    ...(process.getuid?.() === 0 ? ["user root"] : []),
  ];
  writeFileSync(configFile, `${lines.join("\n")}\n`);

  let child: ChildProcess | undefined;
  let stderr = "";
  const launch = async (): Promise<void> => {
    const proc = spawn(binary, ["-c", configFile], { stdio: ["ignore", "ignore", "pipe"] });
    child = proc;
    let exitedWith: string | undefined;
    proc.stderr?.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    proc.once("exit", (code, signal) => {
      exitedWith = `mosquitto exited (code ${code}, signal ${signal}): ${stderr}`;
    });
    await waitForPort(port, () => exitedWith);
  };
  const halt = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
    proc.kill("SIGTERM");
    const timer = setTimeout(() => proc.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(timer);
  };

  try {
    await launch();
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    kind: "mosquitto",
    url: `${tls === undefined ? "mqtt" : "mqtts"}://127.0.0.1:${port}`,
    caFile: tls?.caFile,
    port,
    restart: async () => {
      await halt();
      await launch();
    },
    stop: async () => {
      await halt();
      rmSync(dir, { recursive: true, force: true });
      if (tls !== undefined) rmSync(tls.dir, { recursive: true, force: true });
    },
  };
}

async function startAedes(
  port: number,
  { auth, persistence = true, denySubscriptions = false }: StartBrokerOptions,
  tls: TlsFiles | undefined,
): Promise<TestBroker> {
  const { Aedes } = await import("aedes");
  const create = () =>
    Aedes.createBroker({
      ...(auth === undefined
        ? {}
        : {
            authenticate: (_client, username, password, done) =>
              done(null, username === auth.username && password?.toString() === auth.password),
          }),
      ...(denySubscriptions
        ? // A null subscription is aedes's way to refuse one (an error would close the connection).
          { authorizeSubscribe: (_client, _subscription, done) => done(null, null) }
        : {}),
    });
  // With persistence, one broker instance lives across restarts: its in-memory store plays mosquitto's disk.
  let aedes = await create();
  let server: Server | undefined;
  const sockets = new Set<Socket>();
  const listen = async (): Promise<void> => {
    const broker = aedes;
    const accept = (socket: Socket): void => {
      sockets.add(socket);
      socket.once("close", () => sockets.delete(socket));
      broker.handle(socket);
    };
    const next =
      tls === undefined
        ? createServer(accept)
        : createTlsServer({ cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) }, accept);
    server = next;
    await new Promise<void>((resolve, reject) => {
      next.once("error", reject);
      next.listen(port, "127.0.0.1", () => resolve());
    });
  };
  const close = async (): Promise<void> => {
    const current = server;
    server = undefined;
    if (current === undefined) return;
    await new Promise<void>((resolve) => {
      current.close(() => resolve());
      for (const socket of sockets) socket.destroy();
    });
  };
  const closeBroker = (): Promise<void> => new Promise((resolve) => aedes.close(() => resolve()));
  try {
    await listen();
  } catch (error) {
    await closeBroker();
    throw error;
  }
  return {
    kind: "aedes",
    url: `${tls === undefined ? "mqtt" : "mqtts"}://127.0.0.1:${port}`,
    caFile: tls?.caFile,
    port,
    restart: async () => {
      await close();
      if (!persistence) {
        await closeBroker();
        aedes = await create();
      }
      await listen();
    },
    stop: async () => {
      await close();
      await closeBroker();
      if (tls !== undefined) rmSync(tls.dir, { recursive: true, force: true });
    },
  };
}
