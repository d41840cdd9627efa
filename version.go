package mls

// Version is mlscore's version, in semantic versioning (https://semver.org;
// a -dev suffix marks the work toward the next release, listed under
// [Unreleased] in CHANGELOG.md):
// the module is tagged v<Version>, CHANGELOG.md lists what each version
// changed, and CONTRIBUTING.md says which packages are stable API. The
// logs the shell exports record it in their header (replay.Header.Module,
// as "github.com/mlscore/mlscore@v<Version>"); `mls version` prints it.
const Version = "0.2.0-dev"
