// One lint config for the repo: typed rules for TypeScript, and the layer rule of STYLE.md:
// the engine never imports the editor API.
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
    {
        files: ["src/engine/**/*.ts"],
        rules: {
            "no-restricted-imports": ["error", {paths: [{name: "vscode", message: "src/engine is editor-free: reach the editor through an interface."}]}]
        }
    }
);
