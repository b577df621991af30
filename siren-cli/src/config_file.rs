//! `--config FILE.toml` for every subcommand, and the resolved config each run writes.
//!
//! A config file holds the subcommand's options by their long names (`steps = 500`,
//! `prior_weight = 1e-3`, `quiet = true`, `models = ["siren", "tanh"]`, and positionals by
//! name, e.g. `image = "camera.png"`). Keys may use `_` or `-`. The file's values are placed
//! before the command line's, and a later occurrence of an option wins, so flags override the
//! file. An unknown key is an error that names the closest valid key.

use std::ffi::OsString;
use std::path::Path;

use clap::{ArgAction, ArgMatches, Command};
use siren_core::{Error, Result};

/// Levenshtein distance, for "did you mean".
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// The subcommand path (`["hypernet", "train"]`) at the start of `args` (after the binary).
fn subcommand_path<'a>(root: &'a Command, args: &[OsString]) -> (Vec<String>, &'a Command) {
    let mut cmd = root;
    let mut path = Vec::new();
    for a in args.iter().skip(1) {
        let Some(name) = a.to_str() else { break };
        match cmd.find_subcommand(name) {
            Some(sub) => {
                path.push(name.to_string());
                cmd = sub;
            }
            None => break,
        }
    }
    (path, cmd)
}

fn takes_value(arg: &clap::Arg) -> bool {
    !matches!(
        arg.get_action(),
        ArgAction::SetTrue
            | ArgAction::SetFalse
            | ArgAction::Count
            | ArgAction::Help
            | ArgAction::Version
    )
}

fn value_text(key: &str, v: &toml::Value, path: &Path) -> Result<String> {
    Ok(match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => f.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        toml::Value::Array(items) => items
            .iter()
            .map(|i| value_text(key, i, path))
            .collect::<Result<Vec<_>>>()?
            .join(","),
        other => {
            return Err(Error::BadFile {
                path: path.to_path_buf(),
                what: "siren config file",
                reason: format!(
                    "`{key}` has a {} value; use a string, number, boolean or list",
                    other.type_str()
                ),
            })
        }
    })
}

/// Replaces `--config FILE` in `args` by the file's options (see the module docs).
pub fn expand(root: &Command, args: Vec<OsString>) -> Result<Vec<OsString>> {
    let position = args.iter().position(|a| {
        a.to_str()
            .is_some_and(|s| s == "--config" || s.starts_with("--config="))
    });
    let Some(position) = position else {
        return Ok(args);
    };
    let mut args = args;
    let flag = args.remove(position).to_string_lossy().into_owned();
    let file = match flag.strip_prefix("--config=") {
        Some(f) => f.to_string(),
        None => {
            if position >= args.len() {
                return Err(Error::InvalidInput("--config needs a file".into()));
            }
            args.remove(position).to_string_lossy().into_owned()
        }
    };
    if args.iter().any(|a| {
        a.to_str()
            .is_some_and(|s| s == "--config" || s.starts_with("--config="))
    }) {
        return Err(Error::InvalidInput(
            "--config is given twice; merge the files into one (flags on the command line \
             override the file)"
                .into(),
        ));
    }
    let path = Path::new(&file);
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        action: "cannot read the config file",
        path: path.to_path_buf(),
        source,
    })?;
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| Error::BadFile {
        path: path.to_path_buf(),
        what: "TOML config file",
        reason: e.to_string(),
    })?;
    let (sub_path, cmd) = subcommand_path(root, &args);
    if sub_path.is_empty() || cmd.has_subcommands() {
        return Err(Error::InvalidInput(
            "--config applies to a subcommand: put it after one, e.g. `siren fit --config fit.toml`".into(),
        ));
    }
    // The subcommand's own options, and the global ones (`--device`) it accepts too.
    let options: Vec<&clap::Arg> = cmd
        .get_arguments()
        .chain(root.get_arguments().filter(|a| a.is_global_set()))
        .filter(|a| a.get_id() != "help" && a.get_id() != "config" && a.get_id() != "version")
        .collect();
    let name_of = |a: &clap::Arg| -> String {
        a.get_long()
            .map(String::from)
            .unwrap_or_else(|| a.get_id().to_string())
            .replace('-', "_")
    };
    // Count the positionals the command line already gives, so the file's only fill the rest.
    let start = 1 + sub_path.len();
    let mut given_positionals = 0;
    let mut i = start;
    while i < args.len() {
        let token = args[i].to_string_lossy();
        if let Some(long) = token.strip_prefix("--") {
            let name = long.split('=').next().unwrap_or("");
            let needs_value = options
                .iter()
                .find(|a| a.get_long() == Some(name))
                .is_some_and(|a| takes_value(a));
            if needs_value && !long.contains('=') {
                i += 1;
            }
        } else {
            given_positionals += 1;
        }
        i += 1;
    }
    let mut flags: Vec<OsString> = Vec::new();
    let mut positionals: Vec<(usize, OsString)> = Vec::new();
    for (key, value) in &table {
        let wanted = key.replace('-', "_");
        let Some(arg) = options.iter().find(|a| name_of(a) == wanted) else {
            let best = options
                .iter()
                .map(|a| name_of(a))
                .min_by_key(|n| distance(n, &wanted))
                .unwrap_or_default();
            return Err(Error::BadFile {
                path: path.to_path_buf(),
                what: "siren config file",
                reason: format!(
                    "unknown key `{key}` for `siren {}`; did you mean `{best}`?",
                    sub_path.join(" ")
                ),
            });
        };
        let text = value_text(key, value, path)?;
        if arg.is_positional() {
            if text.starts_with('-') {
                return Err(Error::BadFile {
                    path: path.to_path_buf(),
                    what: "siren config file",
                    reason: format!(
                        "`{key}` = {text:?} starts with '-' and would be read as an option; \
                         write the path as ./{text}"
                    ),
                });
            }
            let index = arg.get_index().unwrap_or(0);
            positionals.push((index, text.into()));
        } else if !takes_value(arg) {
            match value {
                toml::Value::Boolean(true) => {
                    flags.push(format!("--{}", arg.get_long().unwrap_or_default()).into())
                }
                toml::Value::Boolean(false) => {}
                _ => {
                    return Err(Error::BadFile {
                        path: path.to_path_buf(),
                        what: "siren config file",
                        reason: format!("`{key}` is a switch: write `{key} = true` or `false`"),
                    })
                }
            }
        } else {
            // One token, so a value that starts with '-' (`steps = -5`) stays the option's
            // value and gets the option's own error.
            flags.push(format!("--{}={text}", arg.get_long().unwrap_or_default()).into());
        }
    }
    positionals.sort_by_key(|p| p.0);
    let mut inserted: Vec<OsString> = positionals
        .into_iter()
        .skip(given_positionals)
        .map(|p| p.1)
        .collect();
    inserted.extend(flags);
    args.splice(start..start, inserted);
    Ok(args)
}

/// The resolved options of a parsed subcommand as TOML (every value as the text it was given
/// or defaulted to), loadable again with `--config`.
pub fn resolved(command: &str, cmd: &Command, matches: &ArgMatches) -> String {
    let mut table = toml::Table::new();
    for arg in cmd.get_arguments() {
        let id = arg.get_id().as_str();
        if id == "help" || id == "version" {
            continue;
        }
        let key = arg
            .get_long()
            .map(String::from)
            .unwrap_or_else(|| id.to_string())
            .replace('-', "_");
        if !takes_value(arg) {
            if let Ok(Some(&b)) = matches.try_get_one::<bool>(id) {
                table.insert(key, toml::Value::Boolean(b));
            }
            continue;
        }
        if let Ok(Some(values)) = matches.try_get_raw(id) {
            let values: Vec<String> = values.map(|v| v.to_string_lossy().into_owned()).collect();
            let typed = |v: String| -> toml::Value {
                if let Ok(i) = v.parse::<i64>() {
                    toml::Value::Integer(i)
                } else if let Some(f) = v.parse::<f64>().ok().filter(|f| f.is_finite()) {
                    toml::Value::Float(f)
                } else {
                    toml::Value::String(v)
                }
            };
            let value = if values.len() == 1 {
                typed(values[0].clone())
            } else {
                toml::Value::Array(values.into_iter().map(typed).collect())
            };
            table.insert(key, value);
        }
    }
    let commit = option_env!("SIREN_GIT_COMMIT")
        .map(|c| format!(", commit {c}"))
        .unwrap_or_default();
    format!(
        "# written by siren-rs {}{commit} for `siren {command}`; `siren {command} --config` reads it back\n{}",
        env!("CARGO_PKG_VERSION"),
        toml::to_string(&table).unwrap_or_default()
    )
}
