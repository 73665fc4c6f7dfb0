// The labelled corpus the clipboard relay's secret filter is measured on: realistic secrets of
// many kinds, each in the places people paste them from (a shell, an .env file, JSON, a chat line),
// and harmless texts that look like secrets. Values are generated from a fixed seed at run time,
// in the real formats, so that no credential-shaped literal sits in the repository (and secret
// scanners of the repository host stay quiet).
// `npm run eval:secrets` prints recall and false-positive rate; a test holds the targets.

export interface LabelledText {
  /** Secrets: the kind (≥ 40 distinct); harmless texts: what the look-alike is. */
  kind: string;
  text: string;
}

/** xorshift32: deterministic, no dependency; quality is irrelevant for test fixtures. */
function rng(seed: number): (n: number) => number {
  let x = seed >>> 0 || 1;
  return (n) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const UPPER_NUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const LOWER_NUM = 'abcdefghijklmnopqrstuvwxyz0123456789';
const HEX = '0123456789abcdef';
const B64 = ALNUM + '+/';
const B64URL = ALNUM + '-_';

/** Joins parts so that no token prefix appears whole in this file. */
const j = (...p: string[]): string => p.join('');

function luhnComplete(prefix: string, length: number, r: (n: number) => number): string {
  let d = prefix;
  while (d.length < length - 1) d += String(r(10));
  for (let c = 0; c < 10; c++) {
    const cand = d + c;
    let sum = 0;
    for (let i = 0; i < cand.length; i++) {
      let v = cand.charCodeAt(cand.length - 1 - i) - 48;
      if (i % 2 === 1) {
        v *= 2;
        if (v > 9) v -= 9;
      }
      sum += v;
    }
    if (sum % 10 === 0) return cand;
  }
  throw new Error('unreachable');
}

const group = (digits: string, sizes: number[], sep: string): string => {
  const out: string[] = [];
  let i = 0;
  for (const s of sizes) {
    out.push(digits.slice(i, i + s));
    i += s;
  }
  return out.join(sep);
};

type Maker = (s: (alphabet: string, n: number) => string, r: (n: number) => number) => string[];

/** Each kind with the contexts it is pasted in. */
const secretKinds: Record<string, Maker> = {
  'anthropic-api-key': (s) => [j('sk-', 'ant-', 'api03-', s(B64URL, 93), 'AA'), `ANTHROPIC_API_KEY=${j('sk-', 'ant-', 'api03-', s(B64URL, 93), 'AA')}`, `use this key: ${j('sk-', 'ant-', 'api03-', s(B64URL, 93), 'AA')} for now`],
  'anthropic-admin-key': (s) => [j('sk-', 'ant-', 'admin01-', s(B64URL, 93), 'AA')],
  'openai-project-key': (s) => [j('sk-', 'proj-', s(B64URL, 58), 'T3Blbk', 'FJ', s(B64URL, 58)), `OPENAI_API_KEY="${j('sk-', 'proj-', s(B64URL, 58), 'T3Blbk', 'FJ', s(B64URL, 58))}"`],
  'openai-legacy-key': (s) => [j('sk-', s(ALNUM, 20), 'T3Blbk', 'FJ', s(ALNUM, 20))],
  'github-classic-pat': (s) => [j('gh', 'p_', s(ALNUM, 36)), `git clone https://${j('gh', 'p_', s(ALNUM, 36))}@github.com/acme/repo.git`, `GITHUB_TOKEN=${j('gh', 'p_', s(ALNUM, 36))}`],
  'github-oauth-token': (s) => [j('gh', 'o_', s(ALNUM, 36))],
  'github-app-token': (s) => [j('gh', 's_', s(ALNUM, 36)), j('gh', 'u_', s(ALNUM, 36))],
  'github-refresh-token': (s) => [j('gh', 'r_', s(ALNUM, 76))],
  'github-fine-grained-pat': (s) => [j('github', '_pat_', s(ALNUM, 22), '_', s(ALNUM, 59))],
  'gitlab-pat': (s) => [j('gl', 'pat-', s(ALNUM + '-_', 20)), `export GITLAB_TOKEN=${j('gl', 'pat-', s(ALNUM, 20))}`],
  'aws-access-key-pair': (s) => [
    `aws_access_key_id = ${j('AK', 'IA', s('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', 16))}\naws_secret_access_key = ${s(B64, 40)}`,
    `AWS_SECRET_ACCESS_KEY=${s(B64, 40)}`,
  ],
  'aws-access-key-id': (s) => [j('AK', 'IA', s('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', 16)), j('AS', 'IA', s('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', 16))],
  'gcp-service-account': (s) =>
    [
      JSON.stringify({ type: 'service_account', project_id: 'acme-prod', private_key_id: s(HEX, 40), private_key: j('-----BEGIN ', 'PRIVATE KEY-----\n', s(B64, 64), '\n-----END ', 'PRIVATE KEY-----\n'), client_email: 'ci@acme-prod.iam.gserviceaccount.com' }, null, 2),
    ],
  'google-api-key': (s) => [j('AI', 'za', s(B64URL, 35)), `key=${j('AI', 'za', s(B64URL, 35))}`],
  'google-oauth-client-secret': (s) => [`client_secret: ${j('GOC', 'SPX-', s(B64URL, 28))}`],
  'slack-bot-token': (s) => [j('xo', 'xb-', s('0123456789', 12), '-', s('0123456789', 13), '-', s(ALNUM, 24)), `SLACK_BOT_TOKEN=${j('xo', 'xb-', s('0123456789', 12), '-', s('0123456789', 13), '-', s(ALNUM, 24))}`],
  'slack-user-token': (s) => [j('xo', 'xp-', s('0123456789', 12), '-', s('0123456789', 12), '-', s('0123456789', 13), '-', s(HEX, 32))],
  'slack-webhook-url': (s) => [j('https://hooks.', 'slack.com/services/T', s(UPPER_NUM, 10), '/B', s(UPPER_NUM, 10), '/', s(ALNUM, 24)), `webhook: ${j('https://hooks.', 'slack.com/services/T', s(UPPER_NUM, 8), '/B', s(UPPER_NUM, 10), '/', s(ALNUM, 24))}`],
  'stripe-secret-key': (s) => [j('sk', '_live_', s(ALNUM, 99)), `STRIPE_KEY=${j('sk', '_live_', s(ALNUM, 24))}`],
  'stripe-restricted-key': (s) => [j('rk', '_live_', s(ALNUM, 99))],
  'sendgrid-api-key': (s) => [j('SG', '.', s(B64URL, 22), '.', s(B64URL, 43))],
  'npm-token': (s) => [j('np', 'm_', s(ALNUM, 36)), `//registry.npmjs.org/:_authToken=${j('np', 'm_', s(ALNUM, 36))}`],
  'pypi-token': (s) => [j('py', 'pi-', 'AgEIcHlwaS5vcmc', s(B64URL, 70))],
  'huggingface-token': (s) => [j('h', 'f_', s('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz', 34))],
  'groq-api-key': (s) => [j('gs', 'k_', s(ALNUM, 52))],
  'linear-api-key': (s) => [j('lin', '_api_', s(ALNUM, 40))],
  'notion-token': (s) => [j('nt', 'n_', s('0123456789', 11), s(ALNUM, 35)), j('sec', 'ret_', s(ALNUM, 43))],
  'shopify-token': (s) => [j('shp', 'at_', s(HEX, 32)), j('shp', 'ss_', s(HEX, 32))],
  'twilio-api-key': (s) => [`TWILIO_API_KEY=${j('S', 'K', s(HEX, 32))}\nTWILIO_API_SECRET=${s(ALNUM, 32)}`],
  'mailgun-key': (s) => [`MAILGUN_API_KEY=${j('key', '-', s(HEX, 32))}`],
  'discord-bot-token': (s) => [`DISCORD_TOKEN=${j('MT', s(B64URL, 24), '.', s(B64URL, 6), '.', s(B64URL, 38))}`],
  'telegram-bot-token': (s) => [`bot token ${s('123456789', 1)}${s('0123456789', 9)}:${j('AA', s(B64URL, 33))}`],
  'azure-storage-connection-string': (s) => [`DefaultEndpointsProtocol=https;AccountName=acmestore;AccountKey=${s(B64, 86)}==;EndpointSuffix=core.windows.net`],
  'databricks-token': (s) => [j('da', 'pi', s(HEX, 32))],
  'hashicorp-vault-token': (s) => [j('hv', 's.', s(B64URL, 24)), `VAULT_TOKEN=${j('hv', 's.', s(ALNUM, 90))}`],
  'docker-config-auth': (s) => [JSON.stringify({ auths: { 'registry.acme.io': { auth: Buffer.from(`deploy:${s(ALNUM, 16)}`).toString('base64') } } })],
  'age-secret-key': (s) => [j('AGE-', 'SECRET-KEY-1', s('QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L', 58))],
  'rsa-private-key': (s) => [j('-----BEGIN RSA ', 'PRIVATE KEY-----\n', s(B64, 64), '\n', s(B64, 64), '\n-----END RSA ', 'PRIVATE KEY-----')],
  'ec-private-key': (s) => [j('-----BEGIN EC ', 'PRIVATE KEY-----\n', s(B64, 64), '\n-----END EC ', 'PRIVATE KEY-----')],
  'openssh-private-key': (s) => [j('-----BEGIN OPENSSH ', 'PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA', s(B64, 50), '\n-----END OPENSSH ', 'PRIVATE KEY-----')],
  'pgp-private-key': (s) => [j('-----BEGIN PGP ', 'PRIVATE KEY BLOCK-----\n\nlQOYBG', s(B64, 60), '\n-----END PGP ', 'PRIVATE KEY BLOCK-----')],
  'pkcs8-private-key': (s) => [j('-----BEGIN ', 'PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC', s(B64, 40), '\n-----END ', 'PRIVATE KEY-----')],
  jwt: (s) => [j('ey', 'JhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.', 'ey', 'J', s(B64URL, 60), '.', s(B64URL, 43)), `token: ${j('ey', 'JhbGciOiJSUzI1NiJ9.', 'ey', 'J', s(B64URL, 80), '.', s(B64URL, 86))}`],
  'postgres-url': (s) => [`postgres://app:${s(ALNUM, 14)}@db.internal:5432/app`, `DATABASE_URL=postgresql://admin:${s(ALNUM, 10)}!@10.0.0.5/prod`],
  'mysql-url': (s) => [`mysql://root:${s(ALNUM, 12)}@127.0.0.1:3306/shop`],
  'mongodb-srv-url': (s) => [`mongodb+srv://svc:${s(ALNUM, 16)}@cluster0.${s(LOWER_NUM, 5)}.mongodb.net/?retryWrites=true`, `mongodb://u:${s(ALNUM, 12)}@mongo1,mongo2/admin`],
  'redis-url': (s) => [`redis://default:${s(ALNUM, 20)}@cache.acme.io:6379`, `rediss://:${s(ALNUM, 24)}@redis.internal:6380/0`],
  'amqp-url': (s) => [`amqp://guest:${s(ALNUM, 12)}@rabbit:5672/vhost`],
  'https-basic-auth-url': (s) => [`https://deploy:${s(ALNUM, 12)}@artifacts.acme.io/repo/`, `curl https://admin:${s(ALNUM, 9)}@192.0.2.10/axis-cgi/param.cgi`],
  'ftp-url': (s) => [`ftp://backup:${s(ALNUM, 11)}@files.acme.io/dumps`],
  'card-visa': (_s, r) => [group(luhnComplete('4', 16, r), [4, 4, 4, 4], ' '), `card ${luhnComplete('4', 16, r)} exp 09/28 cvc ${100 + r(900)}`, group(luhnComplete('4', 16, r), [4, 4, 4, 4], '-')],
  'card-mastercard': (_s, r) => [group(luhnComplete('5' + (1 + r(5)), 16, r), [4, 4, 4, 4], ' ') + ` ${1 + r(9)}/2${7 + r(3)} ${100 + r(900)}`, luhnComplete('2221', 16, r)],
  'card-amex': (_s, r) => [group(luhnComplete('37', 15, r), [4, 6, 5], ' '), `amex ${luhnComplete('34', 15, r)} cvv ${1000 + r(9000)}`],
  'card-discover': (_s, r) => [group(luhnComplete('6011', 16, r), [4, 4, 4, 4], ' ')],
  'mysql-cli-password': (s) => [`mysql -u root -p${s(ALNUM, 12)} shop`, `mysqldump -h db -u backup -p'${s(ALNUM, 10)}' --all-databases > all.sql`],
  'cli-password-flag': (s) => [`./deploy --password=${s(ALNUM, 12)} --host prod`, `psql --host db --password ${s(ALNUM, 12)}`, `vault login --token=${s(ALNUM, 26)}`],
  'sshpass': (s) => [`sshpass -p '${s(ALNUM, 10)}' ssh pi@192.0.2.7`],
  'curl-user-password': (s) => [`curl -u admin:${s(ALNUM, 10)} --digest http://192.0.2.10/axis-cgi/basicdeviceinfo.cgi`],
  'env-password-variable': (s) => [`PGPASSWORD=${s(ALNUM, 12)} psql -h db -U app`, `MYSQL_PWD=${s(ALNUM, 12)} mysql -u root`],
  'docker-login-password': (s) => [`docker login -u ci -p ${s(ALNUM, 20)} registry.acme.io`],
  'password-line': (s) => [`host: db.local\npassword: ${s(ALNUM, 12)}`, `export DB_PASSWORD="${s(ALNUM, 14)}"`, `"password": "${s(ALNUM, 12)}",`, `camera admin password = ${s(ALNUM, 10)}`],
  'generic-api-key-assignment': (s) => [`api_key = ${s(HEX, 32)}`, `DD_API_KEY=${s(HEX, 32)}`, `client_secret="${s(ALNUM, 40)}"`],
  'bearer-header': (s) => [`Authorization: Bearer ${s(B64URL, 40)}`, `curl -H "Authorization: Basic ${Buffer.from(`svc:${s(ALNUM, 12)}`).toString('base64')}" https://api.acme.io`],
  'random-token-blob': (s) => [`here: ${s(B64, 48)}==`, `${s(ALNUM, 44)}`],
};

const harmlessTexts: [string, (s: (alphabet: string, n: number) => string, r: (n: number) => number) => string][] = [
  ['ssh-ed25519 public key', (s) => `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${s(B64, 43)} alice@laptop`],
  ['ssh-rsa public key', (s) => `ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABgQ${s(B64, 360)}= bob@ci`],
  ['authorized_keys line', (s) => `command="/usr/bin/backup",no-pty ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${s(B64, 43)} backup`],
  ['ecdsa public key', (s) => `ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBB${s(B64, 90)}= host`],
  ['inline base64 PNG', (s) => `<img src="data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAA${s(B64, 300)}==">`],
  ['data URI font', (s) => `src: url(data:font/woff2;base64,d09GMgABAAAAA${s(B64, 200)}) format('woff2');`],
  ['markdown data image', (s) => `![plot](data:image/jpeg;base64,/9j/4AAQSkZJRgABAQ${s(B64, 120)})`],
  ['go.sum line', (s) => `github.com/stretchr/testify v1.9.0 h1:${s(B64, 43)}=`],
  ['go.sum go.mod line', (s) => `golang.org/x/sys v0.21.0/go.mod h1:${s(B64, 43)}=`],
  ['npm integrity', (s) => `"integrity": "sha512-${s(B64, 86)}=="`],
  ['SRI script tag', (s) => `<script src="/app.js" integrity="sha384-${s(B64, 64)}" crossorigin="anonymous"></script>`],
  ['docker digest', (s) => `image: ghcr.io/acme/app@sha256:${s(HEX, 64)}`],
  ['git sha', (s) => `Fixed in commit ${s(HEX, 40)} on main.`],
  ['sha256sum output', (s) => `${s(HEX, 64)}  omnisight-1.2.0.eap`],
  ['uuid', () => 'room 550e8400-e29b-41d4-a716-446655440000 was created'],
  ['uuids list', (s) => `ids: ${s(HEX, 8)}-${s(HEX, 4)}-4${s(HEX, 3)}-a${s(HEX, 3)}-${s(HEX, 12)}, ${s(HEX, 8)}-${s(HEX, 4)}-4${s(HEX, 3)}-b${s(HEX, 3)}-${s(HEX, 12)}`],
  ['public certificate', (s) => j('-----BEGIN CERTIFICATE-----\nMIIB', s(B64, 64), '\n', s(B64, 64), '\n-----END CERTIFICATE-----')],
  ['public key PEM', (s) => j('-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA', s(B64, 44), '\n-----END PUBLIC KEY-----')],
  ['prose', () => 'Here is the refactor you asked for. I renamed the helper and added two tests.'],
  ['talk about passwords', () => 'The password field must be at least 12 characters; we never log it.'],
  ['talk about tokens', () => 'Tokens are shown once; after that only their hash is stored.'],
  ['placeholder value', () => 'password: <your password here>'],
  ['env placeholder', () => 'api_key: ${ANTHROPIC_API_KEY}'],
  ['masked', () => 'password: ********'],
  ['redacted', () => 'password: [REDACTED]'],
  ['template variable', () => 'password: {{ vault_db_password }}'],
  ['env lookup in code', () => 'const password = process.env.DB_PASSWORD;'],
  ['python getenv', () => 'password = os.environ["DB_PASSWORD"]'],
  ['config without secrets', () => 'max_tokens: 1024\nmodel: claude-sonnet-5-5\ntemperature: 0.2'],
  ['sha256 digest line', (s) => `sha256: ${s(HEX, 64)}`],
  ['long identifier', () => 'Call createSurveillanceCameraConfigurationServiceFactory before start.'],
  ['file path', () => 'see main/agents/clipboard-relay/implementation/details/file.ts for the loop'],
  ['url', () => 'Docs: https://platform.claude.com/docs/en/build-with-claude/streaming'],
  ['url with user only', () => 'git clone ssh://git@github.com/acme/omnisight.git'],
  ['scp remote', () => 'git remote add origin git@github.com:acme/omnisight.git'],
  ['url with port', () => 'open http://127.0.0.1:8080/#view=cameras'],
  ['url with placeholder password', () => 'postgres://app:${DB_PASSWORD}@db:5432/app'],
  ['url with angle placeholder', () => 'redis://default:<password>@cache:6379'],
  ['word sk-', () => 'use sk-learn style pipelines'],
  ['code', () => 'const token = await issueToken({ name, scopes });\nreturn token.id;'],
  ['docker port flag', () => 'docker run -p 8080:80 -p 8443:443 nginx'],
  ['mysql prompt flag', () => 'mysql -u root -p shop   # asks for the password'],
  ['ssh port flag', () => 'ssh -p 2222 pi@camera.local'],
  ['password flag from env', () => 'mc alias set s3 https://s3.acme.io $ACCESS_KEY --password $SECRET'],
  ['phone number', () => 'Call +46 46 272 18 00 for support.'],
  ['order number', () => 'Order 4000 1234 5678 9011 shipped.'],
  ['isbn', () => 'ISBN 978-0-306-40615-7'],
  ['date and time', () => '2026-12-03 09:33:18 UTC'],
  ['camera serial', () => 'camera B8A44F7D507D at 192.0.2.10'],
  ['mac address', () => 'MAC 00:40:8c:12:34:56'],
  ['ipv6', () => 'listening on [2001:db8::1]:443'],
  ['version string', () => 'AXIS OS 12.2.35, ACAP SDK 12.2.0, manifest schema 1.7.3'],
  ['css colours', () => '.a { color: #1e293b; background: #f8fafc; border-color: #94a3b8; }'],
  ['json without secrets', () => '{"name":"front door","host":"192.0.2.10","port":443,"fps":10}'],
  ['stack trace', () => 'Error: ECONNREFUSED 127.0.0.1:5432\n    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1611:16)'],
  ['log line', () => '{"level":30,"time":1795222210426,"msg":"database migrated","migrated":[1,2,3]}'],
  ['snake case constant', () => 'MAX_CONCURRENT_CAMERA_UPLOADS_PER_DEPLOYMENT_STAGE=4'],
  ['kebab identifiers', () => 'enable the omnisight-camera-detection-confidence-threshold setting'],
  ['base64 of prose', () => `echo ${Buffer.from('hello world, this is only a greeting').toString('base64')} | base64 -d`],
  ['lorem ipsum', () => 'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.'],
  ['tracking number', () => 'Tracking: 1Z999AA10123456784'],
  ['iban', () => 'IBAN SE45 5000 0000 0583 9825 7466'],
  ['hex colour list', () => 'palette: 0x1f77b4 0xff7f0e 0x2ca02c 0xd62728 0x9467bd'],
  ['numbers table', () => 'fps 9.8 9.9 10.0 10.1\nlatency 120 131 139 142'],
  ['bearer word', () => 'The bearer of this letter is authorised to collect the parcel.'],
  ['basic word', () => 'Basic internationalization support lands next week.'],
  ['authorization placeholder', () => 'Authorization: Bearer <token>'],
  ['authorization env', () => 'curl -H "Authorization: Bearer $TOKEN" https://api.acme.io'],
  ['npm script', () => 'npm run bench:feeds -- --cameras 16 --fps 10'],
  ['regex', () => 'const re = /^[A-Za-z0-9+/]{40}$/;'],
  ['long word', () => 'pneumonoultramicroscopicsilicovolcanoconiosis is a long word'],
  ['wasm module name', () => 'import init from "./pkg/omnisight_detection_postprocess_bg.wasm";'],
  ['k8s secret ref', () => 'valueFrom:\n  secretKeyRef:\n    name: db-credentials\n    key: password'],
  ['password policy', () => 'password_min_length: 12\npassword_require_symbols: true'],
  ['token count', () => 'input_tokens: 1532, output_tokens: 204'],
  ['access key name only', () => 'Rotate the AWS access key in the console, then update the CI settings.'],
  ['aws arn', () => 'arn:aws:iam::123456789012:role/omnisight-deploy'],
  ['gcp project', () => 'gcloud config set project acme-prod-291814'],
  ['slack channel link', () => 'https://acme.slack.com/archives/C0123ABCDEF/p1795222210426'],
  ['github url', () => 'https://github.com/acme/omnisight/pull/1234/files#diff-3f2a9c1b7e4d5a6f8b9c0d1e2f3a4b5c'],
  ['stripe test mode word', () => 'Use Stripe test mode and the test card for checkout demos.'],
  ['math', () => 'ADE 0.39 FDE 0.83; minADE@20 0.28 minFDE@20 0.56'],
  ['semver range', () => '"dependencies": {"zod": "^4.6.7", "ws": "^8.23.0"}'],
  ['jwt header only', () => 'the header decodes to {"alg":"HS256","typ":"JWT"}'],
  ['cron', () => '*/5 * * * * /usr/local/bin/backup --quiet'],
  ['windows path', () => 'C:\\Users\\alice\\AppData\\Roaming\\OmniSight Control Center\\omnisight.db'],
  ['hash in url', (s) => `https://cdn.acme.io/assets/app.${s(HEX, 20)}.js`],
  ['nix store path', (s) => `/nix/store/${s('0123456789abcdfghijklmnpqrsvwxyz', 32)}-nodejs-20.20.2`],
  ['bitcoin-like address talk', () => 'Never paste wallet seed phrases into chat.'],
  ['md5 checksum', (s) => `MD5 (omnisight.eap) = ${s(HEX, 32)}`],
  ['base32 in prose', () => 'The code is ABCDEF234567 per the spec example.'],
  ['otp url without secret', () => 'otpauth://totp/OmniSight:alice?issuer=OmniSight'],
  ['short config values', () => 'user: admin\nhost: camera.local\nport: 443'],
  ['email', () => 'Write to security@acme.io with the steps to reproduce.'],
  ['mqtt topic', () => 'axis/B8A44F7D507D/omnisight/detections'],
  ['sql', () => "SELECT id, name FROM cameras WHERE status = 'online' ORDER BY name;"],
  ['diff', () => '- const MAX = 10;\n+ const MAX = 20;\n  export default MAX;'],
  ['html', () => '<form><label>Password <input type="password" name="password"></label></form>'],
  ['yaml anchors', () => 'defaults: &defaults\n  adapter: postgres\n  host: localhost'],
  ['ssh fingerprint', (s) => `ED25519 key fingerprint is SHA256:${s(B64, 43)}.`],
  ['tls fingerprint', (s) => `SHA-256 fingerprint ${Array.from({ length: 32 }, () => s('0123456789ABCDEF', 2)).join(':')}`],
  ['pgp fingerprint', (s) => `Key fingerprint = ${Array.from({ length: 10 }, () => s('0123456789ABCDEF', 4)).join(' ')}`],
  ['uuid without dashes', (s) => `request id ${s(HEX, 32)}`],
  ['dotenv without secrets', () => 'NODE_ENV=production\nPORT=8080\nLOG_LEVEL=info'],
  ['chat about keys', () => 'Remember to rotate the signing key after the demo; the old one stays valid until midnight.'],
];

/** The corpus, identical on every run. */
export function secretCorpus(seed = 20261203): { secrets: LabelledText[]; harmless: LabelledText[] } {
  const r = rng(seed);
  const s = (alphabet: string, n: number): string => {
    let out = '';
    for (let i = 0; i < n; i++) out += alphabet[r(alphabet.length)];
    return out;
  };
  const secrets: LabelledText[] = [];
  for (const [kind, make] of Object.entries(secretKinds)) {
    const texts = make(s, r);
    for (const text of texts) secrets.push({ kind, text });
    // And the way most secrets reach a clipboard relay: inside a question to a colleague.
    secrets.push({ kind, text: `Can you check why this fails?\n${make(s, r)[0]}\nIt worked yesterday.` });
  }
  const harmless = harmlessTexts.map(([kind, make]) => ({ kind, text: make(s, r) }));
  return { secrets, harmless };
}
