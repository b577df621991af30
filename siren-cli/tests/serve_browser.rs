//! `siren serve` in a real browser: headless Chromium driven through ChromeDriver's WebDriver
//! protocol (plain HTTP + JSON). It trains a 32x32 fit from the Fit page and waits for the end,
//! checks the reconstructions are drawn, then does the same on the Poisson and Inpainting
//! pages (the mask drawn with pointer events) and renders a model on the Explore page.
//!
//! Needs `chromium` and `chromium-driver` (Debian; `.ci/run` installs them); without
//! `/usr/bin/chromedriver` (or `$SIREN_CHROMEDRIVER`) it skips with a message, unless
//! `SIREN_REQUIRE_BROWSER` is set (CI sets it). With
//! `SIREN_SCREENSHOTS=DIR` it keeps a screenshot of each page there.
//!
//! The same test takes the screenshots of the README and the notes at real sizes:
//! `SIREN_SERVE_SIZE` (image side, default 32), `SIREN_SERVE_STEPS` (default 60),
//! `SIREN_SERVE_HIDDEN` (default 32), `SIREN_SERVE_WAVE_STEPS` (default 30), and
//! `SIREN_SERVE_HYPERNET` + `SIREN_SERVE_CELEBA` (a trained hypernetwork and its CelebA root,
//! instead of a tiny one trained here on synthetic faces).

mod common;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

struct Browser {
    driver: Child,
    base: String,
    session: String,
    profile: PathBuf,
}

impl Browser {
    fn start() -> Option<Self> {
        let driver_path = std::env::var_os("SIREN_CHROMEDRIVER")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/usr/bin/chromedriver"));
        let chromium = std::env::var_os("SIREN_CHROMIUM")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
        if !driver_path.exists() || !chromium.exists() {
            // CI sets this: there the test must run, not skip.
            assert!(
                std::env::var_os("SIREN_REQUIRE_BROWSER").is_none(),
                "SIREN_REQUIRE_BROWSER is set but {} or {} is missing",
                driver_path.display(),
                chromium.display()
            );
            eprintln!(
                "skipped: no {} or {} (apt-get install chromium chromium-driver)",
                driver_path.display(),
                chromium.display()
            );
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new(&driver_path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let base = format!("http://127.0.0.1:{port}");
        let t = Instant::now();
        while ureq::get(&format!("{base}/status")).call().is_err() {
            assert!(
                t.elapsed() < Duration::from_secs(30),
                "chromedriver did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile =
            std::env::temp_dir().join(format!("siren-serve-chromium-{}", std::process::id()));
        // The flags keep Chromium off the network (a closed machine refuses its calls home).
        let args = [
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--window-size=1400,1000".into(),
            format!("--user-data-dir={}", profile.display()),
        ];
        let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium, "args": args}}}});
        let mut browser = Self {
            driver,
            base,
            session: String::new(),
            profile,
        };
        let r = browser.call("POST", "/session", Some(caps));
        browser.session = r["sessionId"].as_str().expect("a session").to_string();
        Some(browser)
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.base);
        let r = match body {
            Some(b) => ureq::request(method, &url).send_json(b),
            None => ureq::request(method, &url).call(),
        };
        let r: Value = match r {
            Ok(r) => r.into_json().unwrap(),
            Err(ureq::Error::Status(code, r)) => {
                panic!(
                    "WebDriver {method} {path}: {code} {}",
                    r.into_string().unwrap()
                )
            }
            Err(e) => panic!("WebDriver {method} {path}: {e}"),
        };
        r["value"].clone()
    }

    fn go(&self, url: &str) {
        self.call(
            "POST",
            &format!("/session/{}/url", self.session),
            Some(json!({ "url": url })),
        );
    }

    fn js(&self, script: &str) -> Value {
        self.call(
            "POST",
            &format!("/session/{}/execute/sync", self.session),
            Some(json!({ "script": script, "args": [] })),
        )
    }

    /// Polls `script` until it returns true.
    fn wait_for(&self, what: &str, script: &str, seconds: u64) {
        let t = Instant::now();
        while self.js(script) != json!(true) {
            assert!(
                t.elapsed() < Duration::from_secs(seconds),
                "timed out waiting for {what}; page message: {}",
                self.js("return Array.from(document.querySelectorAll('.message')).map(m => m.textContent).join(' | ')")
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// A screenshot, checked not blank, kept in `$SIREN_SCREENSHOTS` if set.
    fn screenshot(&self, name: &str) {
        use base64::Engine;
        let data = self.call(
            "GET",
            &format!("/session/{}/screenshot", self.session),
            None,
        );
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data.as_str().unwrap())
            .unwrap();
        let img = image::load_from_memory(&bytes).unwrap().to_luma8();
        let n = img.pixels().len() as f64;
        let mean = img.pixels().map(|p| p.0[0] as f64).sum::<f64>() / n;
        let var = img
            .pixels()
            .map(|p| (p.0[0] as f64 - mean).powi(2))
            .sum::<f64>()
            / n;
        assert!(var.sqrt() > 10.0, "{name}: the screenshot is blank");
        if let Some(dir) = std::env::var_os("SIREN_SCREENSHOTS") {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(PathBuf::from(dir).join(format!("{name}.png")), bytes).unwrap();
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = ureq::delete(&format!("{}/session/{}", self.base, self.session)).call();
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// The standard deviation of each drawn reconstruction on `page` (0-255 grey), or an error
/// string for one not drawn at `size` pixels.
fn drawn_reconstructions(b: &Browser, page: &str, size: u32) -> Vec<f64> {
    let script = format!(
        "return Array.from(document.querySelectorAll('#{page} .panel.member img')).map(img => {{
           if (!img.complete || img.naturalWidth !== {size}) return 'not drawn: ' + img.src;
           const c = document.createElement('canvas'); c.width = img.naturalWidth; c.height = img.naturalHeight;
           const g = c.getContext('2d'); g.drawImage(img, 0, 0);
           const d = g.getImageData(0, 0, c.width, c.height).data; let s = 0, s2 = 0, n = d.length / 4;
           for (let i = 0; i < d.length; i += 4) {{ const v = (d[i] + d[i+1] + d[i+2]) / 3; s += v; s2 += v * v; }}
           return Math.sqrt(Math.max(s2 / n - (s / n) ** 2, 0));
         }})"
    );
    b.js(&script)
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            v.as_f64()
                .unwrap_or_else(|| panic!("{page}: {}", v.as_str().unwrap_or("?")))
        })
        .collect()
}

/// A setting from the environment, or its default.
fn setting(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

/// Sets the training page's settings (small unless the environment says otherwise) and
/// presses Train.
fn train_small(b: &Browser, page: &str, extra: &str) {
    let (size, steps, hidden) = (
        setting("SIREN_SERVE_SIZE", "32"),
        setting("SIREN_SERVE_STEPS", "60"),
        setting("SIREN_SERVE_HIDDEN", "32"),
    );
    b.js(&format!(
        "const s = document.getElementById('{page}');
         s.querySelector('.size').value = '{size}'; s.querySelector('.size').dispatchEvent(new Event('change'));
         s.querySelector('.steps').value = '{steps}'; s.querySelector('.hidden').value = '{hidden}';
         s.querySelector('.layers').value = '{layers}'; {extra}",
        layers = if hidden == "32" { "2" } else { "3" }
    ));
    // Let the page load the image at its new size (the inpainting mask is drawn on it).
    std::thread::sleep(Duration::from_millis(500));
    b.js(&format!(
        "document.getElementById('{page}').querySelector('.start').click()"
    ));
    b.wait_for(
        &format!("the {page} run to end"),
        &format!("return document.getElementById('{page}').dataset.state === 'ended'"),
        3000,
    );
}

#[test]
fn every_page_trains_and_draws_in_headless_chromium() {
    let Some(b) = Browser::start() else { return };
    // A tiny hypernetwork on synthetic faces in CelebA's layout, for the Faces page.
    let given = std::env::var("SIREN_SERVE_HYPERNET")
        .ok()
        .zip(std::env::var("SIREN_SERVE_CELEBA").ok());
    let (celeba, checkpoint) = match &given {
        Some((h, c)) => (PathBuf::from(c), PathBuf::from(h)),
        None => {
            let celeba = common::celeba("serve-browser");
            let hypernet = celeba.join("out");
            let (ok, text) = common::train_hypernet(&celeba, &hypernet, "2", &[]);
            assert!(ok, "{text}");
            let checkpoint = hypernet.join("set-sine").join("checkpoint.safetensors");
            (celeba, checkpoint)
        }
    };
    let size: u32 = setting("SIREN_SERVE_SIZE", "32").parse().unwrap();
    let server = common::server::Server::start(
        "browser",
        &[
            "--celeba",
            celeba.to_str().unwrap(),
            "--hypernet",
            checkpoint.to_str().unwrap(),
        ],
    );
    b.go(&format!("{}/", server.url));
    b.wait_for(
        "the image list",
        "return document.querySelectorAll('#fit select.image option').length > 0",
        30,
    );

    // Fit: the four networks of the paper's Figure 1, side by side.
    train_small(&b, "fit", "");
    let stds = drawn_reconstructions(&b, "fit", size);
    assert_eq!(stds.len(), 4);
    assert!(
        stds.iter().all(|s| *s > 1.0),
        "a blank reconstruction: {stds:?}"
    );
    let finished = b.js("return Array.from(document.querySelectorAll('#fit .panel.member')).map(p => p.dataset.status)");
    assert_eq!(
        finished,
        json!(["finished", "finished", "finished", "finished"])
    );
    b.screenshot("fit");

    // Poisson from the Laplacian.
    b.js("document.querySelector('nav button[data-page=poisson]').click()");
    train_small(
        &b,
        "poisson",
        "s.querySelector('.target').value = 'laplacian'; s.querySelector('.target').dispatchEvent(new Event('change'));",
    );
    assert_eq!(drawn_reconstructions(&b, "poisson", size).len(), 2);
    b.screenshot("poisson");

    // Inpainting: hide a stroke across the image with the pointer, compare two priors.
    b.js("document.querySelector('nav button[data-page=inpaint]').click()");
    b.wait_for(
        "the mask canvas",
        "return document.getElementById('mask-canvas').width > 0",
        30,
    );
    let drag = "const c = document.getElementById('mask-canvas'); const r = c.getBoundingClientRect();
        const at = (t, f) => c.dispatchEvent(new PointerEvent(t, {clientX: r.left + f * r.width, clientY: r.top + r.height / 2, bubbles: true}));
        at('pointerdown', 0.2); for (let f = 0.2; f <= 0.8; f += 0.02) at('pointermove', f); window.dispatchEvent(new PointerEvent('pointerup'));";
    train_small(
        &b,
        "inpaint",
        &format!(
            "s.querySelector('.mask').value = 'drawn'; s.querySelector('.prior[value=fh]').checked = false;
             setTimeout(() => {{ {drag} }}, 300);"
        ),
    );
    let hidden = b.js("return siren.masks.state.hidden.reduce((a, v) => a + v, 0)");
    assert!(
        hidden.as_u64().unwrap() > 20,
        "the drawn stroke hid {hidden} pixels"
    );
    assert_eq!(drawn_reconstructions(&b, "inpaint", size).len(), 2);
    b.screenshot("inpainting");

    // Explore: the fit's SIREN rendered at the canvas's resolution, zoomed out twice.
    b.js("document.querySelector('nav button[data-page=explore]').click()");
    b.wait_for(
        "the model list",
        "return document.querySelectorAll('#explore select.models option').length > 0",
        30,
    );
    b.js("const sel = document.querySelector('#explore .models');
          sel.value = Array.from(sel.options).map(o => o.value).find(v => v.endsWith('/siren') && v.includes('fit-'));
          siren.explore.view = {cx: 0, cy: 0, half: 2}; siren.explore.render();");
    b.wait_for(
        "the rendered view",
        "return (document.getElementById('explore').dataset.rendered || '').includes('x0=-2')",
        60,
    );
    b.screenshot("explore");

    // Fields: a short wave run in the heterogeneous medium; the viewer draws the reference and
    // the network at the slider's time.
    b.js("document.querySelector('nav button[data-page=fields]').click()");
    let wave_steps = setting("SIREN_SERVE_WAVE_STEPS", "30");
    b.js(&format!("const s = document.getElementById('fields');
          s.querySelector('.medium').value = 'heterogeneous'; s.querySelector('.steps').value = '{wave_steps}';
          s.querySelectorAll('.model').forEach(c => c.checked = c.value === 'siren');
          s.querySelector('.start').click();"));
    b.wait_for(
        "the wave run to end",
        "return document.getElementById('fields').dataset.state === 'ended'",
        3000,
    );
    b.wait_for(
        "the field panels",
        "return (document.getElementById('fields').dataset.drawn || '').endsWith(' 2')",
        60,
    );
    b.js("const t = document.querySelector('#fields .t'); t.value = '0.3'; t.dispatchEvent(new Event('input'));");
    b.wait_for(
        "the fields at t = 0.3",
        "return document.querySelector('#fields .t-value').textContent === '0.300' && document.querySelectorAll('#fields .field-panels canvas').length === 4",
        60,
    );
    std::thread::sleep(Duration::from_millis(1500));
    b.screenshot("fields");

    // Faces: click three pixels of a held-out face; the completion follows each click.
    b.js("document.querySelector('nav button[data-page=faces]').click()");
    b.wait_for(
        "the first completion",
        "return document.getElementById('faces').dataset.completed === '0'",
        60,
    );
    let faces = b.js(
        "return Array.from(document.querySelectorAll('#faces .face option')).map(o => o.value)",
    );
    if given.is_none() {
        assert_eq!(
            faces,
            json!(["000007.jpg", "000008.jpg"]),
            "the test split only"
        );
    }
    b.js("const c = document.getElementById('face-canvas'); const r = c.getBoundingClientRect();
          for (const [fx, fy] of [[0.2, 0.3], [0.5, 0.5], [0.8, 0.6]]) {
            const o = {clientX: r.left + fx * r.width, clientY: r.top + fy * r.height, bubbles: true};
            c.dispatchEvent(new PointerEvent('pointerdown', o)); window.dispatchEvent(new PointerEvent('pointerup', o));
          }");
    b.wait_for(
        "the completion from 3 pixels",
        "return document.getElementById('faces').dataset.completed === '3'",
        60,
    );
    let drawn = b.js("const i = document.querySelector('#faces img.completion'); return i.complete && i.naturalWidth > 0");
    assert_eq!(drawn, json!(true));
    b.screenshot("faces");
    if given.is_none() {
        let _ = std::fs::remove_dir_all(&celeba);
    }
}
