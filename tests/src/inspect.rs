//! What `docker image inspect` says of an image, read with serde.

use std::collections::BTreeMap;

/// `docker image inspect`'s JSON, in the parts this project reads. An image
/// may have no entrypoint, environment or labels (`null`); the rest must be
/// there.
#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawImage {
    id: String,
    architecture: String,
    config: RawConfig,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawConfig {
    user: String,
    entrypoint: Option<Vec<String>>,
    env: Option<Vec<String>>,
    labels: Option<BTreeMap<String, String>>,
}

/// What `docker image inspect` says, in the parts this project checks. Not
/// its `Size`, which means another thing on each image store: see
/// [`crate::Docker::image_size`].
#[derive(Debug, Clone)]
pub struct ImageInfo {
    pub id: String,
    pub architecture: String,
    pub user: String,
    pub entrypoint: Vec<String>,
    /// `NAME=value`, as `ENV` set them.
    pub env: Vec<String>,
    pub labels: BTreeMap<String, String>,
}

impl ImageInfo {
    /// A field this project reads that the engine did not give is an error,
    /// never a zero or an empty string standing in for it.
    pub(crate) fn parse(json: &str) -> std::result::Result<ImageInfo, serde_json::Error> {
        let raw: RawImage = serde_json::from_str(json)?;
        Ok(ImageInfo {
            id: raw.id,
            architecture: raw.architecture,
            user: raw.config.user,
            entrypoint: raw.config.entrypoint.unwrap_or_default(),
            env: raw.config.env.unwrap_or_default(),
            labels: raw.config.labels.unwrap_or_default(),
        })
    }
}

/// The label scripts/base-images.sh puts on every stand-in it builds; images
/// built on a stand-in inherit it.
pub const STAND_IN_LABEL: &str = "io.github.rust-container-howto.stand-in";

/// Where the base images that a measurement was built on came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BaseImages {
    /// The images Docker Hub publishes under those names.
    Official,
    /// Local stand-ins served under the official names (offline mode).
    StandIns,
    /// Some of each.
    Mixed,
}

impl BaseImages {
    /// The mode, from the labels of each base image as `docker image inspect`
    /// gives them: an image is a stand-in if and only if it carries
    /// [`STAND_IN_LABEL`]. `None` when there are no images to judge by.
    pub fn from_labels<'a>(labels: impl IntoIterator<Item = &'a BTreeMap<String, String>>) -> Option<BaseImages> {
        let (mut stand_ins, mut official) = (0, 0);
        for image in labels {
            if image.contains_key(STAND_IN_LABEL) {
                stand_ins += 1;
            } else {
                official += 1;
            }
        }
        match (stand_ins, official) {
            (0, 0) => None,
            (_, 0) => Some(BaseImages::StandIns),
            (0, _) => Some(BaseImages::Official),
            _ => Some(BaseImages::Mixed),
        }
    }

    /// For a report's provenance line.
    pub fn describe(self) -> &'static str {
        match self {
            BaseImages::Official => "the official ones",
            BaseImages::StandIns => "local stand-ins, not the official ones",
            BaseImages::Mixed => "some official, some local stand-ins",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn base_images_are_stand_ins_exactly_when_labelled() {
        let stand_in = labels(&[(STAND_IN_LABEL, "debian:trixie-slim: Debian trixie minbase by mmdebstrap")]);
        let official = labels(&[("org.opencontainers.image.version", "1.96")]);
        let none = labels(&[]);
        assert_eq!(BaseImages::from_labels([&stand_in, &stand_in]), Some(BaseImages::StandIns));
        assert_eq!(BaseImages::from_labels([&official, &none]), Some(BaseImages::Official));
        assert_eq!(BaseImages::from_labels([&official, &stand_in]), Some(BaseImages::Mixed));
        assert_eq!(BaseImages::from_labels([]), None);
        // Another project's label that merely mentions stand-ins is not ours.
        let other = labels(&[("stand-in", "yes")]);
        assert_eq!(BaseImages::from_labels([&other]), Some(BaseImages::Official));
    }

    const IMAGE: &str = r#"{"Id":"sha256:ab","Architecture":"arm64",
        "Config":{"User":"10001:10001","Entrypoint":["/app"],"Env":["PATH=/usr/bin"],"Labels":null}}"#;

    #[test]
    fn inspect_output_is_read_with_its_nulls() {
        let info = ImageInfo::parse(IMAGE).unwrap();
        assert_eq!((info.architecture.as_str(), info.user.as_str()), ("arm64", "10001:10001"));
        assert_eq!(info.entrypoint, ["/app"]);
        assert_eq!(info.env, ["PATH=/usr/bin"]);
        assert!(info.labels.is_empty());
        let without_env = ImageInfo::parse(&IMAGE.replace(r#""Env":["PATH=/usr/bin"],"#, "")).unwrap();
        assert!(without_env.env.is_empty());
    }

    #[test]
    fn a_missing_field_is_an_error_not_a_zero() {
        let error = ImageInfo::parse(&IMAGE.replace(r#""Architecture":"arm64","#, "")).unwrap_err();
        assert!(error.to_string().contains("missing field `Architecture`"), "{error}");
    }
}
