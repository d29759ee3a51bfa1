//! What `docker image inspect` says of an image, read with serde.

use std::collections::BTreeMap;

/// `docker image inspect`'s JSON, in the parts this project reads. An image
/// may have no entrypoint and no labels (`null`); the rest must be there.
#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawImage {
    id: String,
    size: u64,
    architecture: String,
    config: RawConfig,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawConfig {
    user: String,
    entrypoint: Option<Vec<String>>,
    labels: Option<BTreeMap<String, String>>,
}

/// What `docker image inspect` says, in the parts this project checks.
#[derive(Debug, Clone)]
pub struct ImageInfo {
    pub id: String,
    pub size: u64,
    pub architecture: String,
    pub user: String,
    pub entrypoint: Vec<String>,
    pub labels: BTreeMap<String, String>,
}

impl ImageInfo {
    /// A field this project reads that the engine did not give is an error,
    /// never a zero or an empty string standing in for it.
    pub(crate) fn parse(json: &str) -> std::result::Result<ImageInfo, serde_json::Error> {
        let raw: RawImage = serde_json::from_str(json)?;
        Ok(ImageInfo {
            id: raw.id,
            size: raw.size,
            architecture: raw.architecture,
            user: raw.config.user,
            entrypoint: raw.config.entrypoint.unwrap_or_default(),
            labels: raw.config.labels.unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IMAGE: &str = r#"{"Id":"sha256:ab","Size":42,"Architecture":"arm64",
        "Config":{"User":"10001:10001","Entrypoint":["/app"],"Labels":null}}"#;

    #[test]
    fn inspect_output_is_read_with_its_nulls() {
        let info = ImageInfo::parse(IMAGE).unwrap();
        assert_eq!((info.size, info.architecture.as_str(), info.user.as_str()), (42, "arm64", "10001:10001"));
        assert_eq!(info.entrypoint, ["/app"]);
        assert!(info.labels.is_empty());
    }

    #[test]
    fn a_missing_field_is_an_error_not_a_zero() {
        let error = ImageInfo::parse(&IMAGE.replace(r#""Size":42,"#, "")).unwrap_err();
        assert!(error.to_string().contains("missing field `Size`"), "{error}");
    }
}
