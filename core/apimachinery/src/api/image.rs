//! Image references as the container runtime names them (`ParseNormalizedNamed` of
//! `github.com/distribution/reference`).

/// `nginx:1.14` → `docker.io/library/nginx:1.14`, as the container runtime names it.
pub fn normalized_image(image: &str) -> String {
    let mut name = image.to_string();
    let first = name.split('/').next().unwrap_or_default();
    if !name.contains('/') {
        name = format!("docker.io/library/{name}");
    } else if !(first.contains('.') || first.contains(':') || first == "localhost") {
        name = format!("docker.io/{name}");
    }
    let last = name.rsplit('/').next().unwrap_or_default();
    if !last.contains(':') && !name.contains('@') {
        name.push_str(":latest");
    }
    name
}

#[cfg(test)]
mod tests {
    use super::normalized_image;

    #[test]
    fn image_names_are_normalized() {
        assert_eq!(
            normalized_image("nginx:1.14.2"),
            "docker.io/library/nginx:1.14.2"
        );
        assert_eq!(normalized_image("nginx"), "docker.io/library/nginx:latest");
        assert_eq!(
            normalized_image("bitnami/redis:7"),
            "docker.io/bitnami/redis:7"
        );
        assert_eq!(
            normalized_image("localhost/busybox:1"),
            "localhost/busybox:1"
        );
        assert_eq!(
            normalized_image("registry.k8s.io/pause:3.9"),
            "registry.k8s.io/pause:3.9"
        );
    }
}
