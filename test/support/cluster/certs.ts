/**
 * The control plane's PKI, made with openssl in well under a second: a cluster CA (API server serving
 * cert, client certs), a front-proxy CA (the aggregation layer's client cert), the service-account
 * signing key pair, and a serving cert for the local git server. Everything is valid for one day.
 */
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { execa } from "execa";

export interface Pki {
  dir: string;
  ca: string;
  caKey: string;
  frontProxyCa: string;
  saKey: string;
  saPub: string;
  /** PEM text of the cluster CA. */
  caPem: string;
}

export interface CertPair {
  cert: string;
  key: string;
}

const openssl = (args: string[], cwd: string) => execa("openssl", args, { cwd });
const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

async function selfSignedCa(dir: string, name: string): Promise<CertPair> {
  const pair = { cert: path.join(dir, `${name}.crt`), key: path.join(dir, `${name}.key`) };
  await openssl(
    ["req", "-x509", ...EC, "-keyout", pair.key, "-out", pair.cert, "-days", "1", "-subj", `/CN=${name}`],
    dir,
  );
  return pair;
}

/** A certificate signed by `ca`: a client cert when `san` is empty, else a serving cert for those names. */
export async function issueCert(
  dir: string,
  ca: CertPair,
  name: string,
  subject: string,
  san: string[] = [],
): Promise<CertPair> {
  const pair = { cert: path.join(dir, `${name}.crt`), key: path.join(dir, `${name}.key`) };
  const csr = path.join(dir, `${name}.csr`);
  await openssl(["req", ...EC, "-keyout", pair.key, "-out", csr, "-subj", subject], dir);
  const ext = path.join(dir, `${name}.ext`);
  const usage = san.length > 0 ? "serverAuth" : "clientAuth";
  const lines = [`extendedKeyUsage=${usage}`, "keyUsage=digitalSignature,keyEncipherment"];
  if (san.length > 0) lines.push(`subjectAltName=${san.join(",")}`);
  await writeFile(ext, lines.join("\n") + "\n");
  await openssl(
    [
      "x509",
      "-req",
      "-in",
      csr,
      "-CA",
      ca.cert,
      "-CAkey",
      ca.key,
      // a random serial instead of a shared serial file: certificates are issued concurrently
      "-set_serial",
      `0x${randomBytes(8).toString("hex")}`,
      "-days",
      "1",
      "-extfile",
      ext,
      "-out",
      pair.cert,
    ],
    dir,
  );
  return pair;
}

export async function makePki(dir: string): Promise<Pki> {
  const ca = await selfSignedCa(dir, "cluster-ca");
  const frontProxy = await selfSignedCa(dir, "front-proxy-ca");
  const saKey = path.join(dir, "sa.key");
  const saPub = path.join(dir, "sa.pub");
  await openssl(["genrsa", "-out", saKey, "2048"], dir);
  await openssl(["rsa", "-in", saKey, "-pubout", "-out", saPub], dir);
  return {
    dir,
    ca: ca.cert,
    caKey: ca.key,
    frontProxyCa: frontProxy.cert,
    saKey,
    saPub,
    caPem: await readFile(ca.cert, "utf8"),
  };
}

export const caPair = (pki: Pki): CertPair => ({ cert: pki.ca, key: pki.caKey });
export const frontProxyPair = (pki: Pki): CertPair => ({
  cert: pki.frontProxyCa,
  key: pki.frontProxyCa.replace(/\.crt$/, ".key"),
});
