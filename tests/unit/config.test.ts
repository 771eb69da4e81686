import { describe, expect, it } from 'vitest';
import { ConfigError, ConfigSchema, CONFIG_FIELDS, describeConfig, loadConfig, parseDuration, parseSize } from '../../sandbox-server/src/config.ts';

const noFile = (path: string): string => {
  throw new Error(`ENOENT: no such file, open '${path}'`);
};

function problemsOf(env: Record<string, string>, readFile = noFile): string[] {
  try {
    loadConfig(env, readFile);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('has working defaults', () => {
    const config = loadConfig({}, noFile);
    expect(config.port).toBe(4321);
    expect(config.host).toBe('127.0.0.1');
    expect(config.basePath).toBe('/');
    expect(config.idleTimeout).toBe(15 * 60_000);
    expect(config.maxAge).toBe(2 * 3_600_000);
    expect(config.warmPoolSize).toBe(2);
    expect(config.sandboxMemory).toBe(512 * 1024 ** 2);
    expect(config.sandboxDockerDisk).toBe(1536 * 1024 ** 2);
    expect(config.siteDir.endsWith('/dist')).toBe(true);
    expect(config.allowedOrigins).toEqual([]);
  });

  it('reads every field from the environment', () => {
    const config = loadConfig(
      {
        PORT: '0',
        HOST: '::',
        BASE_PATH: '/cours',
        SITE_DIR: '/srv/site',
        ALLOWED_ORIGINS: 'https://a.example, http://localhost:3000',
        CLIENT_IP_HEADER: 'X-Forwarded-For',
        COOKIE_SECURE: 'yes',
        SANDBOX_DRIVER: 'vm',
        WARM_POOL_SIZE: '0',
        MAX_SANDBOXES: '5',
        MAX_SANDBOXES_PER_CLIENT: '1',
        MAX_TERMINALS_PER_SANDBOX: '2',
        IDLE_TIMEOUT: '90s',
        MAX_AGE: '1.5h',
        SANDBOX_MEMORY: '512M',
        SANDBOX_PIDS: '400',
        SANDBOX_CPUS: '1.5',
        SANDBOX_DISK: '64MiB',
        SANDBOX_DOCKER: 'false',
        SHUTDOWN_TIMEOUT: '500ms',
        LOG_LEVEL: 'debug',
        VM_ACCELERATOR: 'tcg',
      },
      noFile,
    );
    expect(config).toMatchObject({
      port: 0,
      host: '::',
      basePath: '/cours/',
      siteDir: '/srv/site',
      allowedOrigins: ['https://a.example', 'http://localhost:3000'],
      clientIpHeader: 'x-forwarded-for',
      cookieSecure: true,
      driver: 'vm',
      warmPoolSize: 0,
      maxSandboxes: 5,
      maxSandboxesPerClient: 1,
      maxTerminalsPerSandbox: 2,
      idleTimeout: 90_000,
      maxAge: 5_400_000,
      sandboxMemory: 512 * 1024 ** 2,
      sandboxPids: 400,
      sandboxCpus: 1.5,
      sandboxDisk: 64 * 1024 ** 2,
      sandboxDocker: false,
      shutdownTimeout: 500,
      logLevel: 'debug',
      vmAccelerator: 'tcg',
    });
  });

  it('names the variable, the value and the fix', () => {
    const [problem] = problemsOf({ PORT: 'abc' });
    expect(problem).toContain('PORT="abc"');
    expect(problem).toContain('expected an integer from 0 to 65535');
    expect(problem).toContain('PORT=4321');
  });

  it('reports every bad field at once', () => {
    const problems = problemsOf({
      PORT: '70000',
      IDLE_TIMEOUT: '15',
      SANDBOX_DRIVER: 'docker',
      ALLOWED_ORIGINS: 'https://ok.example,https://bad.example/path',
      SANDBOX_MEMORY: 'lots',
    });
    expect(problems).toHaveLength(5);
    expect(problems.find((p) => p.startsWith('PORT='))).toContain('65535');
    expect(problems.find((p) => p.startsWith('IDLE_TIMEOUT='))).toMatch(/with a unit.*"15m"/);
    expect(problems.find((p) => p.startsWith('SANDBOX_DRIVER='))).toContain('"namespace" or "vm"');
    expect(problems.find((p) => p.startsWith('ALLOWED_ORIGINS='))).toContain('https://bad.example/path" is not an origin');
    expect(problems.find((p) => p.startsWith('SANDBOX_MEMORY='))).toContain('512MiB');
  });

  it('keeps the writable layer well below the memory limit', () => {
    const [problem] = problemsOf({ SANDBOX_MEMORY: '256MiB', SANDBOX_DISK: '256MiB' });
    expect(problem).toContain('SANDBOX_DISK="256MiB"');
    expect(problem).toContain('at most 3/4 of SANDBOX_MEMORY');
    expect(loadConfig({ SANDBOX_MEMORY: '1G', SANDBOX_DISK: '512MiB' }, noFile).sandboxDisk).toBe(512 * 1024 ** 2);
  });

  it('takes a pull-through upstream only as a registry base URL, and a reader quota as a size', () => {
    expect(loadConfig({}, noFile).imageStoreUpstream).toBeUndefined();
    expect(loadConfig({}, noFile).imageStoreReaderQuota).toBe(512 * 1024 ** 2);
    expect(loadConfig({ IMAGE_STORE_UPSTREAM: 'https://mirror.example.org/' }, noFile).imageStoreUpstream).toBe('https://mirror.example.org');
    expect(loadConfig({ IMAGE_STORE_UPSTREAM: 'http://127.0.0.1:5001' }, noFile).imageStoreUpstream).toBe('http://127.0.0.1:5001');
    expect(loadConfig({ IMAGE_STORE_READER_QUOTA: '1GiB' }, noFile).imageStoreReaderQuota).toBe(1024 ** 3);
    for (const bad of [
      'mirror.example.org',
      'ftp://mirror.example.org',
      'https://user:pw@mirror.example.org',
      'https://mirror.example.org/v2/',
      'https://mirror.example.org?x=1',
    ]) {
      const [problem] = problemsOf({ IMAGE_STORE_UPSTREAM: bad });
      expect(problem).toContain(`IMAGE_STORE_UPSTREAM="${bad}"`);
      expect(problem).toContain('expected a registry base URL: http(s)://HOST[:PORT]');
    }
    expect(problemsOf({ IMAGE_STORE_READER_QUOTA: '1MiB' })[0]).toContain('IMAGE_STORE_READER_QUOTA');
  });

  it('chooses the VM accelerator: auto by default, kvm or tcg on demand, nothing else', () => {
    expect(loadConfig({}, noFile).vmAccelerator).toBe('auto');
    expect(loadConfig({ SANDBOX_DRIVER: 'vm', VM_ACCELERATOR: 'kvm' }, noFile).vmAccelerator).toBe('kvm');
    const [problem] = problemsOf({ SANDBOX_DRIVER: 'vm', VM_ACCELERATOR: 'fast' });
    expect(problem).toContain('VM_ACCELERATOR="fast"');
    expect(problem).toContain('expected auto, kvm or tcg');
    expect(problem).toContain('Fix: set VM_ACCELERATOR to a valid value, e.g. VM_ACCELERATOR=auto');
  });

  it('refuses bad booleans and base paths', () => {
    expect(problemsOf({ COOKIE_SECURE: 'maybe' })[0]).toContain('COOKIE_SECURE="maybe"');
    expect(problemsOf({ BASE_PATH: 'cours' })[0]).toContain('starting with "/"');
  });

  it('reads a JSON file, with the environment winning', () => {
    const file = JSON.stringify({ port: 8080, warmPoolSize: 4, idleTimeout: '10m' });
    const config = loadConfig({ SANDBOX_CONFIG: '/etc/sandbox.json', WARM_POOL_SIZE: '1' }, () => file);
    expect(config.port).toBe(8080);
    expect(config.warmPoolSize).toBe(1);
    expect(config.idleTimeout).toBe(600_000);
  });

  it('explains file problems: missing, not JSON, unknown key, bad value', () => {
    expect(problemsOf({ SANDBOX_CONFIG: '/nope.json' })[0]).toMatch(/SANDBOX_CONFIG=\/nope.json: cannot read the file.*ENOENT/);
    expect(problemsOf({ SANDBOX_CONFIG: '/x.json' }, () => '{port: 1}')[0]).toContain('not valid JSON');
    expect(problemsOf({ SANDBOX_CONFIG: '/x.json' }, () => '[1]')[0]).toContain('got an array');
    const [unknown] = problemsOf({ SANDBOX_CONFIG: '/x.json' }, () => '{"prot": 1}');
    expect(unknown).toContain('unknown key(s) "prot"');
    expect(unknown).toContain('port');
    const [bad] = problemsOf({ SANDBOX_CONFIG: '/x.json' }, () => '{"maxAge": 7200}');
    expect(bad).toContain('"maxAge" in /x.json=7200');
    expect(bad).toContain('MAX_AGE=2h');
  });

  it('documents every field', () => {
    for (const key of Object.keys(CONFIG_FIELDS)) {
      const description = ConfigSchema.shape[key as keyof typeof CONFIG_FIELDS].description;
      expect(description, key).toBeTruthy();
    }
    expect(Object.keys(ConfigSchema.shape).sort()).toEqual(Object.keys(CONFIG_FIELDS).sort());
    expect(describeConfig()).toContain('IDLE_TIMEOUT (file key "idleTimeout"');
  });
});

describe('units', () => {
  it('parses durations and sizes', () => {
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseDuration('15')).toBeUndefined();
    expect(parseSize('1G')).toBe(1024 ** 3);
    expect(parseSize('1GB')).toBe(1000 ** 3);
    expect(parseSize('4096')).toBe(4096);
    expect(parseSize('12 parsecs')).toBeUndefined();
  });
});
