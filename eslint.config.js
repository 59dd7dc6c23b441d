// One lint config for the repo: typed rules for TypeScript, and the layer rules of STYLE.md:
// the engine never imports the editor API, and hosts import the engine through its index only.
import tseslint from "typescript-eslint";

export default tseslint.config(
    {ignores: ["out/**", "dist/**", "node_modules/**", "eval/results/**", "**/*.js", "**/*.mjs"]},
    ...tseslint.configs.recommendedTypeChecked,
    {
        languageOptions: {parserOptions: {projectService: true, tsconfigRootDir: import.meta.dirname}},
        rules: {
            "@typescript-eslint/no-floating-promises": "error",
            "@typescript-eslint/no-misused-promises": "error",
            "@typescript-eslint/no-unused-vars": ["error", {argsIgnorePattern: "^_"}],
            "@typescript-eslint/no-non-null-assertion": "off",
            "@typescript-eslint/no-unnecessary-type-assertion": "off",
            "@typescript-eslint/require-await": "off",
            "@typescript-eslint/restrict-template-expressions": "off",
            "@typescript-eslint/no-unsafe-assignment": "off",
            "@typescript-eslint/no-unsafe-member-access": "off",
            "@typescript-eslint/no-unsafe-argument": "off",
            "@typescript-eslint/no-unsafe-call": "off",
            "@typescript-eslint/no-unsafe-return": "off"
        }
    },
    // One door (STYLE.md point 1): hosts reach the engine through src/engine/index.ts only; the extension may also
    // read options.ts (pure data its settings are checked against at activation, before the engine module loads).
    {
        files: ["src/cli/**/*.ts", "src/eval/**/*.ts"],
        rules: {
            "no-restricted-imports": ["error", {patterns: [{regex: "(^|/)engine/(?!index\\.js$)",
                message: "Hosts import the engine through src/engine/index.ts only: export what you need from there."}]}]
        }
    },
    {
        files: ["src/extension/**/*.ts"],
        rules: {
            "no-restricted-imports": ["error", {patterns: [{regex: "(^|/)engine/(?!(index|options)\\.js$)",
                message: "The extension imports the engine through src/engine/index.ts only (types; values through engineModule), or options.ts."}]}]
        }
    },
    {
        files: ["src/engine/**/*.ts"],
        rules: {
            "no-restricted-imports": ["error", {paths: [{name: "vscode", message: "src/engine is editor-free: reach the editor through an interface."}]}]
        }
    }
);
