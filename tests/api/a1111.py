"""Request bodies exactly as A1111's API models serialize them (every field, its defaults).

Written out by hand from AUTOMATIC1111's ``modules/api/models.py`` (1.10): what
``StableDiffusionTxt2ImgProcessingAPI(...).model_dump()`` sends. Kept separate from
``daydream.sdapi.models`` on purpose, so the tests do not check the code against itself.
"""

from __future__ import annotations

_PROCESSING = {
    "prompt": "", "negative_prompt": "", "styles": None, "seed": -1, "subseed": -1,
    "subseed_strength": 0.0, "seed_resize_from_h": -1, "seed_resize_from_w": -1,
    "sampler_name": None, "scheduler": None, "batch_size": 1, "n_iter": 1, "steps": 50,
    "cfg_scale": 7.0, "width": 512, "height": 512,
    "restore_faces": None, "tiling": None, "do_not_save_samples": False,
    "do_not_save_grid": False, "eta": None, "denoising_strength": 0.75, "s_min_uncond": None,
    "s_churn": None, "s_tmax": None, "s_tmin": None, "s_noise": None, "override_settings": None,
    "override_settings_restore_afterwards": True, "refiner_checkpoint": None,
    "refiner_switch_at": None, "disable_extra_networks": False, "firstpass_image": None,
    "comments": None, "sampler_index": "Euler", "script_name": None, "script_args": [],
    "send_images": True, "save_images": False, "alwayson_scripts": {}, "force_task_id": None,
    "infotext": None,
}


def txt2img(**fields) -> dict:
    """A StableDiffusionTxt2ImgProcessingAPI body with all its default fields."""
    return {**_PROCESSING, "enable_hr": False, "firstphase_width": 0, "firstphase_height": 0,
            "hr_scale": 2.0, "hr_upscaler": None, "hr_second_pass_steps": 0, "hr_resize_x": 0,
            "hr_resize_y": 0, "hr_checkpoint_name": None, "hr_sampler_name": None,
            "hr_scheduler": None, "hr_prompt": "", "hr_negative_prompt": "", **fields}


def img2img(**fields) -> dict:
    """A StableDiffusionImg2ImgProcessingAPI body with all its default fields."""
    return {**_PROCESSING, "init_images": None, "resize_mode": 0, "image_cfg_scale": None,
            "mask": None, "mask_blur_x": 4, "mask_blur_y": 4, "mask_blur": None,
            "mask_round": True, "inpainting_fill": 0, "inpaint_full_res": True,
            "inpaint_full_res_padding": 0, "inpainting_mask_invert": 0,
            "initial_noise_multiplier": None, "latent_mask": None, "include_init_images": False,
            **fields}


SMALL = {"prompt": "a red fox in snow", "steps": 2, "width": 64, "height": 64,
         "cfg_scale": 7.0}
