//! The identity of a device as Alibaba Cloud IoT defines it, and the rules
//! each part must follow (see `shared/domain/alibaba-iot.md`).

pub mod rules;
