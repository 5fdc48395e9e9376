/**
 * QEMU driven directly over QMP for fast starts: a QMP client ({@link org.servicefarm.driver.qemu.internal.QmpClient}),
 * a launcher of detached QEMU processes that a restarted appliance finds again
 * ({@link org.servicefarm.driver.qemu.internal.QemuLauncher}), checkpoints with the guest RAM in a file
 * ({@link org.servicefarm.driver.qemu.internal.Checkpointer}), copy-on-write clones
 * ({@link org.servicefarm.driver.qemu.internal.Cloner}) and a pool of pre-started processes per checkpoint
 * ({@link org.servicefarm.driver.qemu.internal.ClonePool}). Internal: nothing here is exported; the
 * wiring into the driver SPI comes later.
 */
package org.servicefarm.driver.qemu.internal;
