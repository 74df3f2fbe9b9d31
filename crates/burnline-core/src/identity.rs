//! The identity of a device as Alibaba Cloud IoT defines it, and the rules
//! each part must follow (see `shared/domain/alibaba-iot.md`): [`rules`]
//! checks a value, [`names`] holds a ProductKey or DeviceName that passed.

pub mod names;
pub mod rules;
