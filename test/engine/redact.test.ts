import assert from "node:assert/strict";
import {compileGlob, DEFAULT_EXCLUDE_GLOBS, isExcludedPath, redactSecrets} from "../../src/engine/redact.js";

describe("isExcludedPath", function () {
    it("excludes the usual secret files at any depth", function () {
        for (const file of [".env", ".env.local", "src/.env.production", ".envrc", "certs/server.pem", "deploy/tls.key", "a/b/id_rsa", "id_ed25519.pub",
            "config/credentials.json", "aws_credentials", ".git-credentials", "secrets.yaml", "keystore.p12", ".npmrc", ".netrc", "home/.ssh/config",
            ".aws/config", "infra/terraform.tfstate", ".docker/config.json", "sub/.docker/config.json", "KEYS/PROD.PEM"])
            assert.equal(isExcludedPath(file, DEFAULT_EXCLUDE_GLOBS), true, file);
    });

    it("keeps ordinary source files", function () {
        for (const file of ["src/app.ts", "README.md", "environment.ts", "src/env.ts", "key.ts", "monkey", "src/keys.ts", "docs/secrets-management.md",
            "pem/readme.txt", "config.json", "docker/config.json", "tokenizer.json"])
            assert.equal(isExcludedPath(file, DEFAULT_EXCLUDE_GLOBS), false, file);
    });

    it("uses the default globs when none are given and accepts Windows separators", function () {
        assert.equal(isExcludedPath("src\\config\\.env"), true);
        assert.equal(isExcludedPath("./.npmrc"), true);
        assert.equal(isExcludedPath(""), false);
    });

    it("matches custom globs: anchored with a slash, any segment without", function () {
        assert.equal(isExcludedPath("build/out/a.js", ["build/"]), true);
        assert.equal(isExcludedPath("src/build/a.js", ["/build"]), false);
        assert.equal(isExcludedPath("src/build/a.js", ["build"]), true);
        assert.equal(isExcludedPath("a/b/c/secret.txt", ["a/**/secret.txt"]), true);
        assert.equal(isExcludedPath("a/secret.txt", ["a/**/secret.txt"]), true);
        assert.equal(isExcludedPath("b/a/secret.txt", ["a/**/secret.txt"]), false);
        assert.equal(isExcludedPath("src/x.ts", ["# a comment", "", "   "]), false);
    });

    it("compiles *, ?, ** and character classes, treating regex characters literally", function () {
        assert.equal(compileGlob("*.ts").test("a.ts"), true);
        assert.equal(compileGlob("*.ts").test("a/b.ts"), false);
        assert.equal(compileGlob("**.ts").test("a/b.ts"), true);
        assert.equal(compileGlob("file?.txt").test("file1.txt"), true);
        assert.equal(compileGlob("file?.txt").test("file12.txt"), false);
        assert.equal(compileGlob("log[0-9].txt").test("log7.txt"), true);
        assert.equal(compileGlob("log[!0-9].txt").test("log7.txt"), false);
        assert.equal(compileGlob("log[!0-9].txt").test("logx.txt"), true);
        assert.equal(compileGlob("a+b(c).txt").test("a+b(c).txt"), true);
        assert.equal(compileGlob("a.b").test("axb"), false);
        assert.equal(compileGlob("[abc").test("[abc"), true);
        assert.equal(compileGlob("$^{x}|y").test("$^{x}|y"), true);
    });
});

describe("redactSecrets", function () {
    const secrets: [string, string][] = [
        ["AWS key", "the key AKIAIOSFODNN7EXAMPLE is here"],
        ["GitHub classic token", "ghp_" + "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dF3hJ5"],
        ["GitHub fine-grained token", "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz"],
        ["OpenAI key", "use sk-proj-abcdefghijklmnopqrstuvwx1234 now"],
        ["Slack token", "xoxb-123456789012-abcdefghijkl"],
        ["JWT", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"],
        ["bearer token", "Authorization: Bearer 8f3kD92hfL0qpZx7Wm4Rt1YbNc6Vs"]
    ];
    for (const [name, text] of secrets)
        it(`replaces a ${name}`, function () {
            const result = redactSecrets(text);
            assert.equal(result.count, 1);
            assert.ok(result.text.includes("[REDACTED]"), result.text);
            const secret = text.match(/[A-Za-z0-9_-]{16,}/)![0];
            assert.ok(!result.text.includes(secret), result.text);
        });

    it("replaces whole private key blocks, also cut-off ones", function () {
        const pem = "before\n-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\nqwerty\n-----END RSA PRIVATE KEY-----\nafter";
        assert.deepEqual(redactSecrets(pem), {text: "before\n[REDACTED]\nafter", count: 1});
        const cut = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA";
        assert.deepEqual(redactSecrets(cut), {text: "[REDACTED]", count: 1});
        const publicKey = "-----BEGIN PUBLIC KEY-----\nMFkwEwYH\n-----END PUBLIC KEY-----";
        assert.deepEqual(redactSecrets(publicKey), {text: publicKey, count: 0});
    });

    it("replaces the values of secret assignments and keeps the keys", function () {
        const cases: [string, string][] = [
            ["password=hunter2 next", "password=[REDACTED] next"],
            [`password = "correct horse"`, `password = "[REDACTED]"`],
            ["api_key: abc123def", "api_key: [REDACTED]"],
            [`{"token": "s3cr3t-value", "name": "x"}`, `{"token": "[REDACTED]", "name": "x"}`],
            ["DB_PASSWORD=supersecret", "DB_PASSWORD=[REDACTED]"],
            ["client_secret: 'a1b2c3d4'", "client_secret: '[REDACTED]'"],
            ["https://api.example.com/x?token=abcd1234&page=2", "https://api.example.com/x?token=[REDACTED]&page=2"],
            ["postgres://admin:s3cret@db.local:5432/app", "postgres://admin:[REDACTED]@db.local:5432/app"]
        ];
        for (const [input, expected] of cases)
            assert.deepEqual(redactSecrets(input), {text: expected, count: 1}, input);
    });

    it("leaves code that only names secrets alone", function () {
        for (const code of ["const token = getToken();", "const apiKey = process.env.API_KEY;", "password: string;", "password?: string",
            "max_tokens = 512", "tokenizer = new Tokenizer()", `eos_token: "</s>"`, "Bearer tokens are short-lived.", "token = tok3n(x)",
            "api_key = os.environ['API_KEY']", "password = ${DB_PASSWORD}", "secret: <your secret here>", "nTokens: 42",
            "const lastToken = tokens[i];", "ghp_short"])
            assert.deepEqual(redactSecrets(code), {text: code, count: 0}, code);
    });

    it("counts every replacement and does not redact twice", function () {
        const text = "a=1 GITHUB_TOKEN=ghp_aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dF3hJ5\npassword=hunter2\nkey AKIAIOSFODNN7EXAMPLE";
        const once = redactSecrets(text);
        assert.equal(once.count, 3);
        assert.equal(once.text, "a=1 GITHUB_TOKEN=[REDACTED]\npassword=[REDACTED]\nkey [REDACTED]");
        assert.deepEqual(redactSecrets(once.text), {text: once.text, count: 0});
    });
});
