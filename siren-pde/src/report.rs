//! The PDE commands' report tables as Markdown: the settings line and rows of numbers, so
//! every front end (the CLI, the reproduction report) prints the same tables.

use crate::models::Size;

/// The settings line of a report section: network shape, steps, points, learning rate.
pub fn settings_line(
    net: (usize, Size, usize),
    steps: usize,
    points: String,
    lr: f64,
    lr_final: f64,
) -> String {
    let (inputs, size, outputs) = net;
    format!(
        "networks {inputs} -> {}x{} -> {outputs}, {steps} steps, {points} points per step, Adam lr {lr:e}{}",
        size.width,
        size.layers,
        if lr_final == 1.0 {
            String::new()
        } else {
            format!(" decayed to {:e}", lr * lr_final)
        }
    )
}

/// A table header: `| first | c1 | c2 | ... |` and its rule.
pub fn header(first: &str, columns: &[String]) -> String {
    format!(
        "| {first} | {} |\n|---|{}\n",
        columns.join(" | "),
        "---|".repeat(columns.len())
    )
}

/// A row of numbers to three decimals, with more cells after them (e.g. a time).
pub fn row(label: &str, values: &[f64], more: &[String]) -> String {
    let cells: Vec<String> = values
        .iter()
        .map(|v| format!("{v:.3}"))
        .chain(more.iter().cloned())
        .collect();
    format!("| {label} | {} |\n", cells.join(" | "))
}

/// One column title per time, `t = 0.1`.
pub fn time_columns(times: &[f64]) -> Vec<String> {
    times.iter().map(|t| format!("t = {t}")).collect()
}
