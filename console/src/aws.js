// The console's AWS clients: the AWS SDK for JavaScript v3, pointed at the
// page's own origin (the daemon serves the console and the API on one
// port, so no request is cross-origin), signing with the keys the user
// entered.  The keys live in sessionStorage only: they go when the tab does.
import { EC2Client } from '@aws-sdk/client-ec2';
import { S3Client } from '@aws-sdk/client-s3';
import { STSClient, GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { CostExplorerClient } from '@aws-sdk/client-cost-explorer';

const KEY = 'amibox.session';
let config = { region: 'us-east-1', caller_ip: '' };
let cached = null;

// What the daemon tells every visitor: its region, the caller's address.
export async function loadConfig() {
  try {
    const res = await fetch('config.json', { cache: 'no-store' });
    if (res.ok) config = { ...config, ...(await res.json()) };
  } catch {
    // The defaults do; signing in says what is wrong.
  }
  return config;
}

export function getConfig() { return config; }

export function session() {
  try {
    return JSON.parse(sessionStorage.getItem(KEY) || 'null');
  } catch {
    return null;
  }
}

function makeClients(s) {
  const common = {
    region: s.region,
    endpoint: location.origin,
    credentials: { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey },
    maxAttempts: 2,
  };
  return {
    ec2: new EC2Client(common),
    s3: new S3Client({ ...common, forcePathStyle: true }),
    sts: new STSClient(common),
    // Cost Explorer is global: its clients sign for us-east-1.
    ce: new CostExplorerClient({ ...common, region: 'us-east-1' }),
  };
}

export function clients() {
  const s = session();
  if (!s) throw new Error('Not signed in');
  if (!cached || cached.key !== s.accessKeyId) cached = { key: s.accessKeyId, ...makeClients(s) };
  return cached;
}

// Checks the keys with STS GetCallerIdentity and keeps them for this tab.
export async function signIn(accessKeyId, secretAccessKey) {
  const s = { accessKeyId, secretAccessKey, region: config.region };
  const who = await makeClients(s).sts.send(new GetCallerIdentityCommand({}));
  const stored = { ...s, account: who.Account, arn: who.Arn };
  sessionStorage.setItem(KEY, JSON.stringify(stored));
  cached = null;
  return stored;
}

export function signOut() {
  sessionStorage.removeItem(KEY);
  cached = null;
}

export const ec2 = (command) => clients().ec2.send(command);
export const s3 = (command) => clients().s3.send(command);
export const ce = (command) => clients().ce.send(command);

// Every page of a Describe call: next(token) sends one request; items(r)
// picks the page's items; the token is r.NextToken (or tokenOf(r)).
export async function allPages(next, items, tokenOf = (r) => r.NextToken) {
  const out = [];
  let token;
  do {
    const r = await next(token);
    out.push(...(items(r) || []));
    token = tokenOf(r);
  } while (token);
  return out;
}

// Lets the user save bytes as a file (a private key, an object).
export function download(name, data, type = 'application/octet-stream') {
  const url = URL.createObjectURL(data instanceof Blob ? data : new Blob([data], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

export function base64Text(b64) {
  if (!b64) return '';
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new TextDecoder().decode(bytes);
}

export function textBase64(text) {
  const bytes = new TextEncoder().encode(text);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}
