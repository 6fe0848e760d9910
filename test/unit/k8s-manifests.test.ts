/**
 * The Kubernetes manifests in deploy/k8s, parsed and checked against the code they deploy:
 * lib/config.ts (services, env settings), docker-compose.yml (the node groups) and the gateway's
 * health routes.
 */
import fs from "node:fs";
import path from "node:path";
import { parse, parseAllDocuments } from "yaml";
import { ALL_SERVICES, loadConfig } from "../../lib/config";

const ROOT = path.join(__dirname, "..", "..");
const K8S = path.join(ROOT, "deploy", "k8s");
const EXAMPLE_SECRET_FILE = "secrets.example.yaml";
const KUSTOMIZATION_FILE = "kustomization.yaml";

type Obj = Record<string, any>;
interface Manifest {
  file: string;
  doc: Obj;
}

const files = fs
  .readdirSync(K8S)
  .filter((f) => /\.ya?ml$/.test(f))
  .sort();

const parsed: Manifest[] = files.flatMap((file) => {
  const docs = parseAllDocuments(fs.readFileSync(path.join(K8S, file), "utf8"));
  return docs.map((d) => {
    if (d.errors.length) throw new Error(`${file}: ${d.errors.map((e) => e.message).join("; ")}`);
    return { file, doc: d.toJS() as Obj };
  });
});
const docs = parsed.filter((m) => m.doc !== null && m.doc !== undefined);
const ofKind = (kind: string) => docs.filter((m) => m.doc.kind === kind).map((m) => m.doc);

const deployments = ofKind("Deployment");
const services = ofKind("Service");
const hpas = ofKind("HorizontalPodAutoscaler");
const configMaps = ofKind("ConfigMap");
const namespaces = ofKind("Namespace");
const exampleSecrets = docs.filter((m) => m.file === EXAMPLE_SECRET_FILE).map((m) => m.doc);
const kustomization = docs.find((m) => m.file === KUSTOMIZATION_FILE)?.doc;

const containersOf = (d: Obj): Obj[] => d.spec?.template?.spec?.containers ?? [];
const envOf = (c: Obj): Obj[] => c.env ?? [];
const servicesEnv = (d: Obj): string | undefined =>
  containersOf(d)
    .flatMap(envOf)
    .find((e) => e.name === "SERVICES")?.value;
const byName = (list: Obj[], name: string) => list.find((o) => o.metadata?.name === name);

/** Every variable lib/config.ts reads: each reader is called as `reader(env, "NAME", ...)`. */
const configSource = fs.readFileSync(path.join(ROOT, "lib", "config.ts"), "utf8");
const CONFIG_VARS = new Set([...configSource.matchAll(/\benv, "([A-Z][A-Z0-9_]*)"/g)].map((m) => m[1]));

/** CPU in millicores, memory in bytes. */
function quantity(q: string | number, kind: "cpu" | "memory"): number {
  const s = String(q);
  if (kind === "cpu") return s.endsWith("m") ? Number(s.slice(0, -1)) : Number(s) * 1000;
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|K|M|G|T)?$/.exec(s);
  if (!m) return NaN;
  const unit: Record<string, number> = {
    "": 1,
    K: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
  };
  return Number(m[1]) * unit[m[2] ?? ""];
}

/** A probe's or Service's port, named or numbered, resolved against the container's ports. */
function resolvePort(container: Obj, port: string | number): number | undefined {
  if (typeof port === "number") return port;
  return (container.ports ?? []).find((p: Obj) => p.name === port)?.containerPort;
}

describe("Kubernetes manifests (deploy/k8s)", () => {
  it("should parse every YAML file, each document a Kubernetes object", () => {
    expect(files.length).toBeGreaterThan(0);
    for (const { file, doc } of docs) {
      expect({ file, apiVersion: typeof doc.apiVersion, kind: typeof doc.kind }).toEqual({
        file,
        apiVersion: "string",
        kind: "string",
      });
      if (doc.kind !== "Kustomization")
        expect({ file, name: typeof doc.metadata?.name }).toEqual({ file, name: "string" });
    }
  });

  it("should put every object in the one Namespace it defines", () => {
    expect(namespaces).toHaveLength(1);
    const ns = namespaces[0].metadata.name;
    expect(kustomization?.namespace).toBe(ns);
    for (const { file, doc } of docs)
      if (!["Namespace", "Kustomization"].includes(doc.kind))
        expect({ file, kind: doc.kind, namespace: doc.metadata.namespace }).toEqual({
          file,
          kind: doc.kind,
          namespace: ns,
        });
  });

  it("should run every Deployment on the same image with SERVICES set", () => {
    expect(deployments.length).toBeGreaterThan(1);
    const images = new Set(deployments.flatMap(containersOf).map((c) => c.image));
    expect([...images]).toHaveLength(1);
    expect([...images][0]).toMatch(/\S/);
    for (const d of deployments) {
      expect(containersOf(d)).toHaveLength(1);
      expect({ deployment: d.metadata.name, SERVICES: servicesEnv(d) }).toEqual({
        deployment: d.metadata.name,
        SERVICES: expect.stringMatching(/^[a-z-]+(,[a-z-]+)*$/),
      });
    }
  });

  it("should run every service of ALL_SERVICES on exactly one node group", () => {
    const all = deployments.flatMap((d) => servicesEnv(d)!.split(","));
    expect([...all].sort()).toEqual([...ALL_SERVICES].sort());
  });

  it("should keep the node groups of docker-compose.yml", () => {
    const compose = parse(fs.readFileSync(path.join(ROOT, "docker-compose.yml"), "utf8"), { merge: true });
    const composeGroups: Record<string, string> = {};
    for (const [name, svc] of Object.entries<Obj>(compose.services))
      if (svc.environment?.SERVICES) composeGroups[name] = svc.environment.SERVICES;
    const k8sGroups = Object.fromEntries(deployments.map((d) => [d.metadata.name, servicesEnv(d)]));
    expect(k8sGroups).toEqual(composeGroups);
  });

  it("should give every container CPU and memory requests and limits, requests within limits", () => {
    for (const d of deployments)
      for (const c of containersOf(d)) {
        const where = `${d.metadata.name}/${c.name}`;
        for (const kind of ["cpu", "memory"] as const) {
          const req = quantity(c.resources?.requests?.[kind], kind);
          const lim = quantity(c.resources?.limits?.[kind], kind);
          expect({ where, kind, req: req > 0, lim: lim > 0, within: req <= lim }).toEqual({
            where,
            kind,
            req: true,
            lim: true,
            within: true,
          });
        }
      }
  });

  it("should probe the gateway: liveness /health/live and readiness /health/ready on port 3000", () => {
    const gateways = deployments.filter((d) => servicesEnv(d)!.split(",").includes("api"));
    expect(gateways).toHaveLength(1);
    const c = containersOf(gateways[0])[0];
    expect((c.ports ?? []).map((p: Obj) => p.containerPort)).toContain(3000);
    const live = c.livenessProbe?.httpGet;
    const ready = c.readinessProbe?.httpGet;
    expect(live?.path).toBe("/health/live");
    expect(ready?.path).toBe("/health/ready");
    expect(resolvePort(c, live?.port)).toBe(3000);
    expect(resolvePort(c, ready?.port)).toBe(3000);
    if (c.startupProbe?.httpGet) expect(resolvePort(c, c.startupProbe.httpGet.port)).toBe(3000);
  });

  it("should give no HTTP probe to a node group that serves no HTTP", () => {
    for (const d of deployments.filter((x) => !servicesEnv(x)!.split(",").includes("api")))
      for (const c of containersOf(d))
        for (const probe of ["livenessProbe", "readinessProbe", "startupProbe"])
          expect({ deployment: d.metadata.name, probe, httpGet: c[probe]?.httpGet }).toEqual({
            deployment: d.metadata.name,
            probe,
            httpGet: undefined,
          });
  });

  it("should reference secrets only by secretKeyRef to keys the example Secret defines", () => {
    expect(exampleSecrets).toHaveLength(1);
    const example = exampleSecrets[0];
    expect(example.kind).toBe("Secret");
    const keys = new Set(Object.keys({ ...example.data, ...example.stringData }));
    const refs = deployments.flatMap(containersOf).flatMap((c) =>
      envOf(c)
        .filter((e) => e.valueFrom?.secretKeyRef)
        .map((e) => e.valueFrom.secretKeyRef),
    );
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) {
      expect(ref.name).toBe(example.metadata.name);
      expect(keys).toContain(ref.key);
    }
    // Every node with NODE_ENV=production needs the JWT keys and the webhook secret.
    for (const d of deployments) {
      const secretEnv = containersOf(d)
        .flatMap(envOf)
        .filter((e) => e.valueFrom?.secretKeyRef && !e.valueFrom.secretKeyRef.optional)
        .map((e) => e.name);
      expect(secretEnv).toEqual(
        expect.arrayContaining(["JWT_PRIVATE_KEY", "JWT_PUBLIC_KEY", "PAYMENT_WEBHOOK_SECRET"]),
      );
    }
  });

  it("should keep secrets out of the ConfigMap and out of literal env values", () => {
    const secretKeys = Object.keys({ ...exampleSecrets[0].data, ...exampleSecrets[0].stringData });
    for (const cm of configMaps)
      for (const k of secretKeys) expect(Object.keys(cm.data ?? {})).not.toContain(k);
    for (const c of deployments.flatMap(containersOf))
      for (const e of envOf(c)) if (secretKeys.includes(e.name)) expect(e.value).toBeUndefined();
  });

  it("should set the production settings in the ConfigMap that every Deployment loads", () => {
    expect(configMaps).toHaveLength(1);
    const cm = configMaps[0];
    expect(cm.data).toMatchObject({ NODE_ENV: "production", METRICS: "1" });
    for (const k of ["TRANSPORTER", "MONGO_URI", "KAFKA_BROKERS", "SMTP_URL", "REDIS_URL", "LOG_LEVEL"])
      expect(cm.data[k]).toMatch(/\S/);
    for (const v of Object.values(cm.data)) expect(typeof v).toBe("string");
    for (const d of deployments)
      for (const c of containersOf(d))
        expect((c.envFrom ?? []).map((e: Obj) => e.configMapRef?.name)).toContain(cm.metadata.name);
  });

  it("should use only env names lib/config.ts reads", () => {
    expect(CONFIG_VARS.size).toBeGreaterThan(20);
    const names = [
      ...configMaps.flatMap((cm) => Object.keys(cm.data ?? {})),
      ...exampleSecrets.flatMap((s) => Object.keys({ ...s.data, ...s.stringData })),
      ...deployments.flatMap(containersOf).flatMap((c) => envOf(c).map((e) => e.name)),
    ];
    const unknown = names.filter((n) => !CONFIG_VARS.has(n));
    expect(unknown).toEqual([]);
  });

  it("should start every node group's configuration without a ConfigError", () => {
    const cm = configMaps[0].data as Record<string, string>;
    const secret = exampleSecrets[0].stringData as Record<string, string>;
    for (const d of deployments) {
      const env: Record<string, string> = { ...cm };
      for (const e of containersOf(d).flatMap(envOf)) {
        if (e.value !== undefined) env[e.name] = String(e.value);
        else if (e.valueFrom?.secretKeyRef) env[e.name] = secret[e.valueFrom.secretKeyRef.key];
      }
      const cfg = loadConfig(env);
      expect(cfg.nodeEnv).toBe("production");
      expect(cfg.services.join(",")).toBe(servicesEnv(d));
    }
  });

  it("should select each Deployment's own pods only", () => {
    for (const d of deployments) {
      const labels = d.spec.template.metadata.labels;
      expect(labels).toMatchObject(d.spec.selector.matchLabels);
      for (const other of deployments.filter((o) => o !== d)) {
        const sel = Object.entries<string>(d.spec.selector.matchLabels);
        const otherLabels = other.spec.template.metadata.labels;
        expect(sel.every(([k, v]) => otherLabels[k] === v)).toBe(false);
      }
    }
  });

  it("should autoscale gateway and checkout on CPU, pointing at existing Deployments", () => {
    const targets = hpas.map((h) => h.spec.scaleTargetRef.name).sort();
    expect(targets).toEqual(["checkout", "gateway"]);
    for (const h of hpas) {
      expect(h.apiVersion).toBe("autoscaling/v2");
      expect(h.spec.scaleTargetRef).toMatchObject({ apiVersion: "apps/v1", kind: "Deployment" });
      const target = byName(deployments, h.spec.scaleTargetRef.name);
      expect(target).toBeDefined();
      // The HPA owns the replica count: a fixed one would be reset on every apply.
      expect(target!.spec.replicas).toBeUndefined();
      expect(h.spec.minReplicas).toBeGreaterThanOrEqual(1);
      expect(h.spec.maxReplicas).toBeGreaterThan(h.spec.minReplicas);
      const cpu = h.spec.metrics.find((m: Obj) => m.type === "Resource" && m.resource?.name === "cpu");
      expect(cpu?.resource.target).toMatchObject({ type: "Utilization" });
      expect(cpu.resource.target.averageUtilization).toBeGreaterThan(0);
      expect(cpu.resource.target.averageUtilization).toBeLessThanOrEqual(100);
    }
  });

  it("should expose the gateway's pods, and only them, on port 3000", () => {
    const gateway = deployments.find((d) => servicesEnv(d) === "api")!;
    const svc = byName(services, "gateway");
    expect(svc).toBeDefined();
    expect(["ClusterIP", "LoadBalancer", "NodePort"]).toContain(svc!.spec.type ?? "ClusterIP");
    const selects = (d: Obj) =>
      Object.entries<string>(svc!.spec.selector).every(([k, v]) => d.spec.template.metadata.labels[k] === v);
    expect(Object.keys(svc!.spec.selector).length).toBeGreaterThan(0);
    expect(deployments.filter(selects).map((d) => d.metadata.name)).toEqual([gateway.metadata.name]);
    const c = containersOf(gateway)[0];
    expect(svc!.spec.ports).toHaveLength(1);
    expect(svc!.spec.ports[0].port).toBe(3000);
    expect(resolvePort(c, svc!.spec.ports[0].targetPort ?? svc!.spec.ports[0].port)).toBe(3000);
  });

  it("should list every manifest in kustomization.yaml, but not the example Secret", () => {
    expect(kustomization?.kind).toBe("Kustomization");
    const listed: string[] = kustomization!.resources;
    expect(new Set(listed).size).toBe(listed.length);
    const manifests = files.filter((f) => f !== KUSTOMIZATION_FILE && f !== EXAMPLE_SECRET_FILE);
    expect([...listed].sort()).toEqual(manifests);
    expect(listed).not.toContain(EXAMPLE_SECRET_FILE);
    // Kustomize's image override must name the image the Deployments use.
    const image = containersOf(deployments[0])[0].image.split(":")[0];
    for (const i of kustomization!.images ?? []) expect(i.name).toBe(image);
  });
});
