//! The container recipe, checked without a container engine: pinned base images, a non-root
//! user, `iamsnap` as entrypoint, no secret copied in, and the image name the Kubernetes example
//! runs is the one the recipe builds.

use std::path::Path;

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

/// The recipe's instructions, comments and continuations folded.
fn instructions(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || (line.is_empty() && current.is_empty()) {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(part) => current.push_str(part),
            None => {
                current.push_str(line);
                if !current.trim().is_empty() {
                    out.push(current.trim().to_string());
                }
                current.clear();
            }
        }
    }
    out
}

#[test]
fn the_recipe_pins_its_bases_runs_unprivileged_and_copies_no_secret() {
    let recipe = read("Containerfile");
    let steps = instructions(&recipe);
    let froms: Vec<&String> = steps.iter().filter(|s| s.starts_with("FROM ")).collect();
    assert!(
        froms.len() >= 2,
        "a build stage and a final stage: {froms:?}"
    );
    for from in &froms {
        let image = from.split_whitespace().nth(1).unwrap();
        let pinned = image.contains("@sha256:")
            || image
                .rsplit_once(':')
                .is_some_and(|(_, tag)| tag.chars().next().is_some_and(|c| c.is_ascii_digit()));
        assert!(pinned, "{image} is not pinned by version or digest");
        assert!(!image.ends_with(":latest"), "{image}");
    }
    assert!(
        steps
            .iter()
            .any(|s| s.contains("cargo build --release --locked")),
        "the build stage is CI's release build"
    );

    // The final stage: everything after the last FROM.
    let last = steps.iter().rposition(|s| s.starts_with("FROM ")).unwrap();
    let final_stage = &steps[last..];
    let user = final_stage
        .iter()
        .rev()
        .find_map(|s| s.strip_prefix("USER "))
        .expect("the final stage sets USER");
    assert_eq!(user.trim(), "65532:65532");
    let entrypoint = final_stage
        .iter()
        .find_map(|s| s.strip_prefix("ENTRYPOINT "))
        .expect("an ENTRYPOINT");
    let entrypoint: Vec<String> = serde_json::from_str(entrypoint).expect("exec form, no shell");
    assert_eq!(entrypoint, ["/usr/bin/iamsnap"]);
    for step in final_stage.iter().filter(|s| s.starts_with("COPY ")) {
        assert!(
            step.starts_with("COPY --from="),
            "the final stage copies only from the build stage: {step}"
        );
    }

    // Nothing key-like reaches the build context.
    let ignored = read(".containerignore");
    for pattern in ["target", "**/*.key", "**/identity*.txt", "**/secrets.env"] {
        assert!(
            ignored.lines().any(|l| l.trim() == pattern),
            ".containerignore lacks {pattern}"
        );
    }
    assert_eq!(
        ignored,
        read(".dockerignore"),
        "both engines ignore the same files"
    );
    for step in &steps {
        let lower = step.to_lowercase();
        assert!(
            !(lower.starts_with("env ") || lower.starts_with("arg "))
                || !["token", "secret", "password", "key"]
                    .iter()
                    .any(|word| lower.contains(word)),
            "no secret in the image's environment: {step}"
        );
    }
}

#[test]
fn the_kubernetes_example_runs_the_image_the_recipe_builds() {
    let recipe = read("Containerfile");
    let tag = recipe
        .lines()
        .find_map(|l| l.split("build -t ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the recipe documents its image name")
        .to_string();
    assert_eq!(tag, format!("iamsnap:{}", env!("CARGO_PKG_VERSION")));
    let cronjob = read("examples/kubernetes/cronjob.yaml");
    let image = cronjob
        .lines()
        .find_map(|l| l.trim().strip_prefix("image: "))
        .expect("the CronJob names an image");
    assert_eq!(image.split_whitespace().next(), Some(tag.as_str()));
    assert!(
        cronjob.contains("runAsUser: 65532"),
        "the pod runs as the image's user"
    );
}
